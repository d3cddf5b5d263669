"""Approvals a ledger edit cannot forge: an HMAC over what a person approved.

The ledger stores, with each approval, ``HMAC-SHA256(key, canonical JSON of {proposal id, account,
action, sha256 of the plan as stored, expires_at, approver, decided_at})``. ``begin_execution``
recomputes it from the rows as they are now and refuses any mismatch, so a plan rewritten and
rehashed, an ``account`` switched, an expiry pushed back, a status flipped to ``approved`` with
no decision row, or a decision row copied from another proposal never runs.

The key lives outside the ledger: ``KLAVIYO_MCP_APPROVAL_SECRET``, else a 0600 file in the per-user config dir,
created on first use. Not beside the ledger file: whoever can copy or edit the ledger (a backup, a
shared volume, another user of the database) must not thereby hold the key that signs approvals.
It protects against edits of the ledger, not against a process that can read the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import stat
from datetime import datetime
from pathlib import Path

from klaviyo_analytics import paths
from klaviyo_analytics.actions.models import Proposal, canonical_json, iso
from klaviyo_analytics.errors import ConfigError, ConflictError
from klaviyo_analytics.secret_files import write_once

KEY_FILE = "approval.key"
MIN_SECRET_LENGTH = 16


def key_path(config_dir: Path | None = None) -> Path:
    return (config_dir or paths.user_config_dir()) / KEY_FILE


def load_key(secret: str | None = None, config_dir: Path | None = None) -> bytes:
    """The signing key: ``secret`` (KLAVIYO_MCP_APPROVAL_SECRET) if given, else the key file (created 0600)."""
    if secret is not None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(f"KLAVIYO_MCP_APPROVAL_SECRET must be at least {MIN_SECRET_LENGTH} characters.")
        return secret.encode()
    path = key_path(config_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            write_once(path, secrets.token_hex(32).encode())
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"The approval key {path} is readable by others (mode {mode:o}); chmod 600 it.")
        key = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise ConfigError(f"Cannot read or create the approval key {path}: {exc}") from exc
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigError(f"The approval key {path} is empty or too short; delete it to make a new one.")
    return key.encode()


def sign(key: bytes, proposal: Proposal, approver: str, decided_at: datetime) -> str:
    # The plan's hash is recomputed from the plan itself, never read from the plan_hash column.
    plan_sha = hashlib.sha256(canonical_json(list(proposal.plan), "plan").encode()).hexdigest()
    message = canonical_json(
        {
            "v": 1,
            "proposal_id": proposal.id,
            "account": proposal.account,
            "action": proposal.action,
            "plan_sha256": plan_sha,
            "expires_at": iso(proposal.expires_at),
            "approver": approver,
            "decided_at": iso(decided_at),
        },
        "approval",
    )
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def invalid_approval(proposal_id: str, why: str) -> ConflictError:
    return ConflictError(
        f"Proposal {proposal_id} has no valid approval ({why}); the ledger was changed outside the product, "
        "and the plan will not run. Propose the change again and have a person approve it.",
        status="approval_invalid",
    )


def verify(key: bytes, proposal: Proposal, decision: tuple[bool, str, datetime, str | None] | None) -> None:
    """Refuse unless ``decision`` (approved, approver, decided_at, signature) signs this proposal."""
    if decision is None:
        raise invalid_approval(proposal.id, "no decision is recorded")
    approved, approver, decided_at, signature = decision
    if not approved:
        raise invalid_approval(proposal.id, "the recorded decision is a rejection")
    if not signature or not hmac.compare_digest(signature, sign(key, proposal, approver, decided_at)):
        raise invalid_approval(proposal.id, "its signature does not match the plan, account and expiry")

"""The ledger's records: frozen dataclasses with a ``to_dict()`` ready for JSON.

Every backend returns these. ``*_from_row`` decode the flat column mappings a SQL backend
stores (JSON text columns, ISO-8601 timestamps), so a server database can reuse them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from klaviyo_analytics.clock import SYSTEM_CLOCK
from klaviyo_analytics.errors import InvalidArgumentError

# "started" is written before a step's upstream call: a later attempt that finds it without a
# "done" knows the call may have landed, and checks before repeating it. "resolved" is a person's
# answer for a step that stopped in needs_attention: which object it made, or that it made none.
StepStatus = Literal["started", "done", "failed", "resolved"]
STEP_STATUSES: tuple[StepStatus, ...] = ("started", "done", "failed", "resolved")


class Row(Protocol):
    """A stored row addressed by column name (``sqlite3.Row``, a dict, a server DB's record)."""

    def __getitem__(self, key: str, /) -> Any: ...


class ProposalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTING = "executing"
    # An unconfirmed create could not be proven ours (or not to have landed): a person looks in
    # Klaviyo and resolves it (actions resolve), then the plan resumes — or is abandoned.
    NEEDS_ATTENTION = "needs_attention"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ExecutionStatus(StrEnum):
    RUNNING = "running"
    AWAITING_RETRY = "awaiting_retry"  # a retryable failure put the proposal back to approved
    NEEDS_ATTENTION = "needs_attention"  # stopped for a person; resolve moves it on
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def utc_now() -> datetime:
    return SYSTEM_CLOCK.now()


def new_proposal_id() -> str:
    """``act_`` + 20 url-safe characters (15 random bytes)."""
    return "act_" + secrets.token_urlsafe(15)


def new_lease_owner() -> str:
    """A fresh token per ``begin_execution``: two processes with one executor name stay apart."""
    return "lease_" + secrets.token_urlsafe(12)


def canonical_json(value: Any, field: str) -> str:
    """The one serialisation the ledger stores and hashes; refuses what JSON cannot hold."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{field} must be plain JSON data: {exc}", field=field) from exc


def plan_hash(plan: Sequence[Mapping[str, Any]]) -> str:
    """sha256 (hex) of the plan's canonical JSON."""
    return hashlib.sha256(canonical_json(list(plan), "plan").encode()).hexdigest()


def iso(moment: datetime) -> str:
    """Fixed-width UTC ISO-8601, so stored timestamps also compare correctly as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class Record:
    """Mixin: ``to_dict()`` over the dataclass fields plus any names in ``_extra``."""

    _extra: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]
        out.update({name: _jsonable(getattr(self, name)) for name in self._extra})
        return out


@dataclass(frozen=True)
class Proposal(Record):
    id: str
    account: str
    action: str
    params: dict[str, Any]
    plan: tuple[dict[str, Any], ...]
    plan_hash: str
    summary: str
    warnings: tuple[str, ...]
    status: ProposalStatus
    created_at: datetime
    expires_at: datetime
    proposed_by: str


@dataclass(frozen=True)
class Decision(Record):
    proposal_id: str
    approved: bool
    approver: str
    decided_at: datetime
    reason: str | None


@dataclass(frozen=True)
class JournalEntry(Record):
    step_id: str
    status: StepStatus
    result: dict[str, Any]
    attempt: int
    at: datetime


@dataclass(frozen=True)
class Execution(Record):
    proposal_id: str
    status: ExecutionStatus
    executor: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    journal: tuple[JournalEntry, ...]
    error: dict[str, Any] | None
    lease_owner: str | None
    lease_expires_at: datetime | None

    _extra = ("created",)

    @property
    def created(self) -> dict[str, dict[str, Any]]:
        """What each completed step produced (e.g. created resource ids), by step id."""
        return {e.step_id: e.result for e in self.journal if e.status == "done"}


@dataclass(frozen=True)
class ExecutionHandle(Record):
    """What ``begin_execution`` hands the executor: the verified plan and the lease it holds."""

    proposal: Proposal
    executor: str
    lease_owner: str
    lease_expires_at: datetime
    attempt: int
    resumed: bool  # a later attempt, or a takeover: skip ``completed_steps``
    completed_steps: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class TraceEntry(Record):
    seq: int
    proposal_id: str
    step_id: str | None
    method: str
    path: str
    request_body: Any
    status_code: int | None
    latency_ms: float
    at: datetime
    error: str | None


@dataclass(frozen=True)
class Transition(Record):
    proposal_id: str
    from_status: ProposalStatus | None  # None: the proposal was created
    to_status: ProposalStatus
    actor: str
    at: datetime
    note: str | None


@dataclass(frozen=True)
class History(Record):
    """Who proposed, approved and executed what, and when."""

    proposal: Proposal
    decision: Decision | None
    transitions: tuple[Transition, ...]
    execution: Execution | None


# -- flat rows (JSON text columns, ISO timestamps) -> records ------------------------------------


def proposal_from_row(row: Row) -> Proposal:
    return Proposal(
        id=row["id"],
        account=row["account"],
        action=row["action"],
        params=json.loads(row["params"]),
        plan=tuple(json.loads(row["plan"])),
        plan_hash=row["plan_hash"],
        summary=row["summary"],
        warnings=tuple(json.loads(row["warnings"])),
        status=ProposalStatus(row["status"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        expires_at=datetime.fromisoformat(row["expires_at"]),
        proposed_by=row["proposed_by"],
    )


def decision_from_row(row: Row) -> Decision:
    return Decision(
        proposal_id=row["proposal_id"],
        approved=bool(row["approved"]),
        approver=row["approver"],
        decided_at=datetime.fromisoformat(row["decided_at"]),
        reason=row["reason"],
    )


def journal_from_row(row: Row) -> JournalEntry:
    return JournalEntry(
        step_id=row["step_id"],
        status=row["status"],
        result=json.loads(row["result"]),
        attempt=row["attempt"],
        at=datetime.fromisoformat(row["at"]),
    )


def execution_from_row(row: Row, journal: Sequence[JournalEntry]) -> Execution:
    return Execution(
        proposal_id=row["proposal_id"],
        status=ExecutionStatus(row["status"]),
        executor=row["executor"],
        attempts=row["attempts"],
        started_at=datetime.fromisoformat(row["started_at"]),
        finished_at=parse_iso(row["finished_at"]),
        journal=tuple(journal),
        error=None if row["error"] is None else json.loads(row["error"]),
        lease_owner=row["lease_owner"],
        lease_expires_at=parse_iso(row["lease_expires_at"]),
    )


def trace_from_row(row: Row) -> TraceEntry:
    body = row["request_body"]
    return TraceEntry(
        seq=row["seq"],
        proposal_id=row["proposal_id"],
        step_id=row["step_id"],
        method=row["method"],
        path=row["path"],
        request_body=None if body is None else json.loads(body),
        status_code=row["status_code"],
        latency_ms=row["latency_ms"],
        at=datetime.fromisoformat(row["at"]),
        error=row["error"],
    )


def transition_from_row(row: Row) -> Transition:
    origin = row["from_status"]
    return Transition(
        proposal_id=row["proposal_id"],
        from_status=None if origin is None else ProposalStatus(origin),
        to_status=ProposalStatus(row["to_status"]),
        actor=row["actor"],
        at=datetime.fromisoformat(row["at"]),
        note=row["note"],
    )

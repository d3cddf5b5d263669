"""Approvals cannot be forged by editing the ledger's database: each edit below executed before
approvals were signed, and each is now refused by ``begin_execution`` — on SQLite and on
PostgreSQL (anyone with the database's credentials can write rows, but not sign them)."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from klaviyo_analytics.actions import Proposal, ProposalStatus, SqliteLedger, plan_hash
from klaviyo_analytics.errors import ConflictError, ForbiddenError
from tests.actions.ledger_helpers import FakeClock, both_backends, raw_db, raw_ledger

__all__ = ["both_backends"]  # the fixture: the tampering tests run on SQLite and PostgreSQL
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])  # about the file on disk

Propose = Callable[..., Proposal]
EVIL_PLAN = [{"step_id": "create", "method": "DELETE", "path": "/api/lists/L1/"}]


def refused(ledger: SqliteLedger, proposal_id: str, why: str) -> None:
    with pytest.raises(ConflictError, match=why) as err:
        ledger.begin_execution(proposal_id, "cli", 30)
    assert err.value.details["status"] == "approval_invalid"
    assert ledger.get_execution(proposal_id) is None


def test_a_signed_approval_runs(ledger: SqliteLedger, approved: Proposal) -> None:
    assert ledger.begin_execution(approved.id, "cli", 30).proposal.status is ProposalStatus.EXECUTING


def test_a_plan_rewritten_and_rehashed_is_refused(ledger: SqliteLedger, approved: Proposal) -> None:
    with raw_ledger(ledger) as conn:
        conn.execute(
            "UPDATE proposals SET plan = ?, plan_hash = ? WHERE id = ?",
            (json.dumps(EVIL_PLAN, sort_keys=True, separators=(",", ":")), plan_hash(EVIL_PLAN), approved.id),
        )
    refused(ledger, approved.id, "signature does not match")


def test_an_account_switched_after_approval_is_refused(ledger: SqliteLedger, approved: Proposal) -> None:
    with raw_ledger(ledger) as conn:
        conn.execute("UPDATE proposals SET account = 'globex' WHERE id = ?", (approved.id,))
    refused(ledger, approved.id, "signature does not match")


def test_a_status_flipped_by_hand_with_no_decision_is_refused(ledger: SqliteLedger, propose: Propose) -> None:
    pending = propose()
    with raw_ledger(ledger) as conn:
        conn.execute("UPDATE proposals SET status = 'approved' WHERE id = ?", (pending.id,))
    refused(ledger, pending.id, "no decision is recorded")


def test_a_rejection_flipped_to_approved_is_refused(ledger: SqliteLedger, propose: Propose) -> None:
    rejected = ledger.decide(propose().id, False, "approver:alice", "no")
    with raw_ledger(ledger) as conn:
        conn.execute("UPDATE proposals SET status = 'approved' WHERE id = ?", (rejected.id,))
    refused(ledger, rejected.id, "decision is a rejection")


def test_a_decision_copied_from_another_proposal_is_refused(
    ledger: SqliteLedger, approved: Proposal, propose: Propose
) -> None:
    victim = propose()
    with raw_ledger(ledger) as conn:
        conn.execute(
            "INSERT INTO decisions (proposal_id, approved, approver, decided_at, reason, signature)"
            " SELECT ?, approved, approver, decided_at, reason, signature FROM decisions WHERE proposal_id = ?",
            (victim.id, approved.id),
        )
        conn.execute("UPDATE proposals SET status = 'approved' WHERE id = ?", (victim.id,))
    refused(ledger, victim.id, "signature does not match")


def test_an_expiry_pushed_back_by_hand_is_refused(ledger: SqliteLedger, approved: Proposal, clock: FakeClock) -> None:
    clock.advance(hours=25)  # past the approval's expiry
    later = (approved.expires_at.replace(year=approved.expires_at.year + 1)).isoformat(timespec="microseconds")
    with raw_ledger(ledger) as conn:
        conn.execute("UPDATE proposals SET expires_at = ? WHERE id = ?", (later, approved.id))
    refused(ledger, approved.id, "signature does not match")


def test_an_approval_past_its_expiry_is_refused(ledger: SqliteLedger, approved: Proposal, clock: FakeClock) -> None:
    clock.advance(hours=25)
    with pytest.raises(ConflictError, match="expired"):
        ledger.begin_execution(approved.id, "cli", 30)


def test_another_key_does_not_verify(approved: Proposal, reopen: Callable[..., SqliteLedger]) -> None:
    other = reopen(approval_key=b"a-different-secret-0123456789")
    refused(other, approved.id, "signature does not match")


@SQLITE_ONLY
def test_the_key_file_is_private_and_not_beside_the_ledger(
    ledger: SqliteLedger, approved: Proposal, db_path: Path, private_config_dir: Path
) -> None:
    key_file = private_config_dir / "approval.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.parent != db_path.parent
    assert key_file.read_text() not in db_path.read_bytes().decode("latin-1")


def test_a_key_file_readable_by_others_is_refused(private_config_dir: Path, db_path: Path) -> None:
    private_config_dir.mkdir(parents=True)
    (private_config_dir / "approval.key").write_text("x" * 64)
    (private_config_dir / "approval.key").chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        SqliteLedger(db_path)


@SQLITE_ONLY
def test_the_ledger_files_are_created_0600(ledger: SqliteLedger, approved: Proposal, db_path: Path) -> None:
    # SQLite deletes -wal/-shm when the last connection closes and recreates them with the main
    # file's mode: hold a connection open so they exist, then look at all three.
    with raw_db(db_path) as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT COUNT(*) FROM proposals").fetchone()
        for path in (db_path, db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        conn.execute("COMMIT")


def test_a_second_approver_is_required_when_set(reopen: Callable[..., SqliteLedger]) -> None:
    strict = reopen(require_second_approver=True)
    mine = strict.create_proposal("acme", "create_list", {}, [{"step_id": "s"}], "s", [], "user:bob")
    with pytest.raises(ForbiddenError, match="KLAVIYO_MCP_REQUIRE_SECOND_APPROVER is on") as err:
        strict.decide(mine.id, True, "user:bob", "my own")
    assert err.value.code == "FORBIDDEN"
    assert strict.get_proposal(mine.id).status is ProposalStatus.PENDING
    assert strict.decide(mine.id, True, "user:alice", "second pair of eyes").status is ProposalStatus.APPROVED
    relaxed = reopen()  # the default: one person may propose and approve
    other = relaxed.create_proposal("acme", "create_list", {}, [{"step_id": "s"}], "s", [], "user:bob")
    assert relaxed.decide(other.id, True, "user:bob").status is ProposalStatus.APPROVED


def test_the_proposer_may_reject_their_own_proposal(reopen: Callable[..., SqliteLedger]) -> None:
    strict = reopen(require_second_approver=True)
    mine = strict.create_proposal("acme", "create_list", {}, [{"step_id": "s"}], "s", [], "user:bob")
    assert strict.decide(mine.id, False, "user:bob", "withdrawn").status is ProposalStatus.REJECTED

"""Ledger contract, expiry: a pending proposal, or an approved one never begun, past ``expires_at`` is expired, lazily,
wherever it is next touched; an execution that has begun is never expired mid-run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from klaviyo_analytics.actions import ExecutionHandle, Proposal, ProposalStatus, SqliteLedger
from klaviyo_analytics.errors import ConflictError
from tests.actions.ledger_helpers import START, FakeClock, both_backends

__all__ = ["both_backends"]  # the fixture: every test here runs on SQLite and PostgreSQL

S = ProposalStatus
Propose = Callable[..., Proposal]


def test_pending_until_the_expiry_instant(ledger: SqliteLedger, propose: Propose, clock: FakeClock) -> None:
    proposal = propose(ttl=timedelta(hours=1))
    clock.advance(minutes=59, seconds=59)
    assert ledger.get_proposal(proposal.id).status is S.PENDING
    clock.advance(seconds=1)
    assert ledger.get_proposal(proposal.id).status is S.EXPIRED


def test_expiry_is_recorded_as_a_transition_by_the_system(
    ledger: SqliteLedger, propose: Propose, clock: FakeClock
) -> None:
    proposal = propose()
    clock.advance(hours=25)
    ledger.get_proposal(proposal.id)
    ledger.get_proposal(proposal.id)  # expiring twice would log twice
    moves = [(t.from_status, t.to_status, t.actor) for t in ledger.get_history(proposal.id).transitions]
    assert moves == [(None, S.PENDING, "mcp"), (S.PENDING, S.EXPIRED, "system")]
    assert ledger.get_history(proposal.id).transitions[-1].at == START + timedelta(hours=25)


def test_deciding_an_expired_proposal_says_propose_again_and_keeps_the_expiry(
    ledger: SqliteLedger, propose: Propose, clock: FakeClock
) -> None:
    proposal = propose()
    clock.advance(hours=24)
    with pytest.raises(ConflictError, match=r"expired at 2025-03-02T12:00:00.000000\+00:00 .*propose the change again"):
        ledger.decide(proposal.id, True, "alice")
    assert ledger.get_history(proposal.id).decision is None
    with pytest.raises(ConflictError, match="expired") as again:
        ledger.decide(proposal.id, True, "alice")  # now stored as expired: same answer
    assert again.value.details["status"] == "expired"


def test_executing_an_expired_proposal_is_refused(ledger: SqliteLedger, propose: Propose, clock: FakeClock) -> None:
    proposal = propose()
    clock.advance(days=2)
    with pytest.raises(ConflictError, match=r"expired .*propose the change again"):
        ledger.begin_execution(proposal.id, "cli", 30)
    assert ledger.get_proposal(proposal.id).status is S.EXPIRED


def test_listing_expires_stale_proposals_first(ledger: SqliteLedger, propose: Propose, clock: FakeClock) -> None:
    old = propose()
    clock.advance(hours=23)
    fresh = propose()
    clock.advance(hours=2)
    assert [p.id for p in ledger.list_proposals(status="pending")] == [fresh.id]
    assert [p.id for p in ledger.list_proposals(status="expired")] == [old.id]
    assert ledger.ledger_health()["proposals"]["expired"] == 1


def test_an_approval_holds_until_the_expiry_instant(ledger: SqliteLedger, approved: Proposal, clock: FakeClock) -> None:
    clock.advance(hours=23, minutes=59, seconds=59)
    assert ledger.get_proposal(approved.id).status is S.APPROVED
    assert ledger.begin_execution(approved.id, "cli", 30).proposal.status is S.EXECUTING


def test_an_approved_proposal_not_run_by_its_expiry_expires(
    ledger: SqliteLedger, approved: Proposal, clock: FakeClock
) -> None:
    clock.advance(hours=24)
    with pytest.raises(
        ConflictError, match=r"expired at .* its approval held until then .*propose the change again"
    ) as refused:
        ledger.begin_execution(approved.id, "cli", 30)
    assert refused.value.details["status"] == "expired"
    assert ledger.get_proposal(approved.id).status is S.EXPIRED
    assert ledger.get_execution(approved.id) is None  # nothing ran
    moves = [(t.from_status, t.to_status, t.actor) for t in ledger.get_history(approved.id).transitions]
    assert moves[-1] == (S.APPROVED, S.EXPIRED, "system")
    with pytest.raises(ConflictError, match="expired"):
        ledger.begin_execution(approved.id, "cli", 30)  # stored as expired: the same answer


def test_reading_and_listing_expire_a_stale_approval(
    ledger: SqliteLedger, approved: Proposal, clock: FakeClock
) -> None:
    clock.advance(days=3)
    assert [p.id for p in ledger.list_proposals(status="expired")] == [approved.id]
    assert ledger.list_proposals(status="approved") == []
    assert ledger.ledger_health()["proposals"]["approved"] == 0


def test_an_executing_proposal_is_not_expired_mid_run(
    ledger: SqliteLedger, running: ExecutionHandle, clock: FakeClock
) -> None:
    pid = running.proposal.id
    clock.advance(hours=25)
    assert ledger.get_proposal(pid).status is S.EXECUTING
    assert ledger.list_proposals(status="executing")[0].id == pid
    ledger.record_step(pid, "create", {"id": "L1"}, running.lease_owner)
    ledger.record_step(pid, "add_profiles", {}, running.lease_owner)
    assert ledger.finish(pid, running.lease_owner, succeeded=True).status is S.SUCCEEDED


def test_a_crashed_execution_past_expiry_is_still_resumed(
    ledger: SqliteLedger, running: ExecutionHandle, clock: FakeClock
) -> None:
    pid = running.proposal.id
    ledger.record_step(pid, "create", {"id": "L1"}, running.lease_owner)
    clock.advance(hours=25)  # the executor died; its lease and the proposal's expiry have both passed
    takeover = ledger.begin_execution(pid, "cli:bob", 30)
    assert takeover.resumed and takeover.completed_steps == {"create": {"id": "L1"}}


def test_an_approved_execution_awaiting_retry_is_not_expired(
    ledger: SqliteLedger, running: ExecutionHandle, clock: FakeClock
) -> None:
    pid = running.proposal.id
    ledger.record_step(pid, "create", {"id": "L1"}, running.lease_owner)
    error = {"code": "UPSTREAM_ERROR", "message": "503"}
    assert ledger.finish(pid, running.lease_owner, False, error, retryable=True).status is S.APPROVED
    clock.advance(hours=25)
    assert ledger.get_proposal(pid).status is S.APPROVED  # half done: finishing beats stranding it
    assert ledger.list_proposals(status="expired") == []
    again = ledger.begin_execution(pid, "cli", 30)
    assert again.resumed and set(again.completed_steps) == {"create"}

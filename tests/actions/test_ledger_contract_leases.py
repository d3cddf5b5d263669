"""Ledger contract, leases and resumption: a crashed executor is taken over, a live one is not; a retryable
failure goes back to approved with its journal, so the next run skips completed steps."""

from __future__ import annotations

import pytest

from klaviyo_analytics.actions import ExecutionHandle, ProposalStatus, SqliteLedger
from klaviyo_analytics.errors import ConflictError, InvalidArgumentError
from tests.actions.ledger_helpers import START, FakeClock, both_backends

__all__ = ["both_backends"]  # the fixture: every test here runs on SQLite and PostgreSQL

S = ProposalStatus
RETRYABLE = {"code": "RATE_LIMITED", "message": "429 storm"}


def test_a_live_lease_refuses_a_second_executor(
    ledger: SqliteLedger, running: ExecutionHandle, clock: FakeClock
) -> None:
    clock.advance(seconds=59)
    with pytest.raises(ConflictError, match="already executing \\(cli:alice holds the lease until") as err:
        ledger.begin_execution(running.proposal.id, "cli:bob", 60)
    assert err.value.details["status"] == "executing"


def test_an_expired_lease_is_taken_over_with_the_journal(
    ledger: SqliteLedger, running: ExecutionHandle, clock: FakeClock
) -> None:
    pid = running.proposal.id
    ledger.record_step(pid, "create", {"list_id": "L1"}, running.lease_owner)
    clock.advance(seconds=60)
    assert ledger.ledger_health()["stale_leases"] == 1
    takeover = ledger.begin_execution(pid, "cli:bob", 60)
    assert takeover.resumed and takeover.attempt == 1
    assert takeover.lease_owner != running.lease_owner
    assert takeover.completed_steps == {"create": {"list_id": "L1"}}
    execution = ledger.get_execution(pid)
    assert execution is not None and execution.executor == "cli:bob" and execution.started_at == START
    assert ledger.get_history(pid).transitions[-1].note == "took over an expired lease from cli:alice"
    # the crashed executor wakes up: it holds nothing any more
    for call in (
        lambda: ledger.record_step(pid, "add_profiles", {}, running.lease_owner),
        lambda: ledger.renew_lease(pid, running.lease_owner, 60),
        lambda: ledger.finish(pid, running.lease_owner, True),
    ):
        with pytest.raises(ConflictError, match="no longer holds the lease"):
            call()
    ledger.record_step(pid, "add_profiles", {"added": 3}, takeover.lease_owner)
    assert ledger.finish(pid, takeover.lease_owner, True).status is S.SUCCEEDED


def test_a_lapsed_lease_is_still_held_until_someone_takes_it(
    ledger: SqliteLedger, running: ExecutionHandle, clock: FakeClock
) -> None:
    clock.advance(minutes=10)
    ledger.record_step(running.proposal.id, "create", {"list_id": "L1"}, running.lease_owner)
    assert ledger.completed_steps(running.proposal.id) == {"create": {"list_id": "L1"}}


def test_renewing_keeps_the_lease_alive(ledger: SqliteLedger, running: ExecutionHandle, clock: FakeClock) -> None:
    clock.advance(seconds=50)
    until = ledger.renew_lease(running.proposal.id, running.lease_owner, 60)
    assert until == clock.now.replace() + (until - clock.now)
    clock.advance(seconds=50)  # past the first lease, inside the renewed one
    with pytest.raises(ConflictError, match="already executing"):
        ledger.begin_execution(running.proposal.id, "cli:bob", 60)
    with pytest.raises(InvalidArgumentError, match="lease_seconds"):
        ledger.renew_lease(running.proposal.id, running.lease_owner, 0)


def test_a_retryable_failure_resumes_after_the_last_completed_step(
    ledger: SqliteLedger, running: ExecutionHandle, clock: FakeClock
) -> None:
    pid = running.proposal.id
    ledger.record_step(pid, "create", {"list_id": "L1"}, running.lease_owner)
    ledger.record_step(pid, "add_profiles", {"error": "429"}, running.lease_owner, status="failed")
    assert ledger.finish(pid, running.lease_owner, False, RETRYABLE, retryable=True).status is S.APPROVED
    paused = ledger.get_execution(pid)
    assert paused is not None and paused.status == "awaiting_retry" and paused.error == RETRYABLE
    assert paused.finished_at is None and paused.lease_owner is None
    assert ledger.completed_steps(pid) == {"create": {"list_id": "L1"}}

    clock.advance(minutes=1)
    again = ledger.begin_execution(pid, "cli:alice", 60)
    assert again.resumed and again.attempt == 2
    assert again.completed_steps == {"create": {"list_id": "L1"}}
    resumed = ledger.get_execution(pid)
    assert resumed is not None and resumed.status == "running" and resumed.error is None
    ledger.record_step(pid, "add_profiles", {"added": 3}, again.lease_owner)
    assert ledger.finish(pid, again.lease_owner, True).status is S.SUCCEEDED
    done = ledger.get_execution(pid)
    assert done is not None and done.attempts == 2 and done.error is None
    assert [(e.step_id, e.status, e.attempt) for e in done.journal] == [
        ("create", "done", 1),
        ("add_profiles", "failed", 1),
        ("add_profiles", "done", 2),
    ]
    moves = [(t.from_status, t.to_status) for t in ledger.get_history(pid).transitions]
    assert moves[-3:] == [(S.EXECUTING, S.APPROVED), (S.APPROVED, S.EXECUTING), (S.EXECUTING, S.SUCCEEDED)]
    assert ledger.get_history(pid).transitions[-3].note == "RATE_LIMITED: 429 storm"


def test_begin_execution_needs_a_positive_lease_and_an_executor(ledger: SqliteLedger, running: ExecutionHandle) -> None:
    with pytest.raises(InvalidArgumentError, match="lease_seconds"):
        ledger.begin_execution(running.proposal.id, "cli", 0)
    with pytest.raises(InvalidArgumentError, match="executor"):
        ledger.begin_execution(running.proposal.id, "", 30)

"""Ledger contract, the state machine: every allowed transition, every refusal with its error class and message."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from klaviyo_analytics.actions import TRANSITIONS, ExecutionHandle, Proposal, ProposalStatus, SqliteLedger
from klaviyo_analytics.actions.ledger import check_transition
from klaviyo_analytics.errors import (
    ApprovalRequiredError,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
)
from tests.actions.ledger_helpers import START, FakeClock, both_backends, plan_of

__all__ = ["both_backends"]  # the fixture: every test here runs on SQLite and PostgreSQL

S = ProposalStatus
Propose = Callable[..., Proposal]


def test_create_stores_a_pending_proposal_with_hash_and_default_expiry(ledger: SqliteLedger, propose: Propose) -> None:
    proposal = propose()
    assert re.fullmatch(r"act_[A-Za-z0-9_-]{20}", proposal.id)
    assert proposal.status is S.PENDING
    assert proposal.created_at == START and proposal.expires_at == START + timedelta(hours=24)
    canonical = json.dumps(plan_of("create", "add_profiles"), sort_keys=True, separators=(",", ":"))
    assert proposal.plan_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert ledger.get_proposal(proposal.id) == proposal
    assert json.loads(json.dumps(proposal.to_dict()))["status"] == "pending"


def test_ttl_is_configurable_per_proposal_and_per_ledger(propose: Propose, reopen: Callable[..., SqliteLedger]) -> None:
    assert propose(ttl=timedelta(minutes=5)).expires_at == START + timedelta(minutes=5)
    short = reopen(default_ttl=timedelta(hours=1))
    made = short.create_proposal("acme", "create_list", {}, plan_of("a"), "s", [], "mcp")
    assert made.expires_at == START + timedelta(hours=1)


def test_unknown_id_is_not_found_and_names_the_id(ledger: SqliteLedger) -> None:
    for call in (ledger.get_proposal, ledger.get_trace, ledger.get_execution, ledger.completed_steps):
        with pytest.raises(NotFoundError, match="act_missing"):
            call("act_missing")
    with pytest.raises(NotFoundError, match="act_missing"):
        ledger.decide("act_missing", True, "alice")


def test_list_is_newest_first_and_filters(ledger: SqliteLedger, propose: Propose, clock: FakeClock) -> None:
    first = propose(account="acme")
    clock.advance(seconds=1)
    second = propose(account="globex")
    clock.advance(seconds=1)
    third = propose(account="acme")
    ledger.decide(third.id, False, "alice", "not now")
    assert [p.id for p in ledger.list_proposals()] == [third.id, second.id, first.id]
    assert [p.id for p in ledger.list_proposals(account="acme")] == [third.id, first.id]
    assert [p.id for p in ledger.list_proposals(status="rejected")] == [third.id]
    assert [p.id for p in ledger.list_proposals(account="acme", status=S.PENDING)] == [first.id]
    assert len(ledger.list_proposals(limit=2)) == 2
    with pytest.raises(InvalidArgumentError, match="Unknown status") as bad:
        ledger.list_proposals(status="done")
    assert bad.value.field == "status"
    with pytest.raises(InvalidArgumentError, match="limit"):
        ledger.list_proposals(limit=0)


def test_approve_and_reject_record_the_decision(ledger: SqliteLedger, propose: Propose) -> None:
    yes, no = propose(), propose()
    assert ledger.decide(yes.id, True, "approver:alice", "ok").status is S.APPROVED
    assert ledger.decide(no.id, False, "approver:bob", None).status is S.REJECTED
    decision = ledger.get_history(no.id).decision
    assert decision is not None
    assert (decision.approved, decision.approver, decision.reason) == (False, "approver:bob", None)
    assert decision.decided_at == START


@pytest.mark.parametrize("first", [True, False])
def test_a_decided_proposal_cannot_be_decided_again(ledger: SqliteLedger, propose: Propose, first: bool) -> None:
    proposal = propose()
    ledger.decide(proposal.id, first, "alice")
    status = "approved" if first else "rejected"
    with pytest.raises(ConflictError, match=f"already {status}; only a pending proposal") as err:
        ledger.decide(proposal.id, True, "bob")
    assert err.value.details["status"] == status
    assert ledger.get_history(proposal.id).decision.approver == "alice"  # type: ignore[union-attr]


def test_decide_needs_an_approver(ledger: SqliteLedger, propose: Propose) -> None:
    with pytest.raises(InvalidArgumentError, match="approver"):
        ledger.decide(propose().id, True, "  ")


def test_pending_proposal_needs_a_persons_approval(ledger: SqliteLedger, propose: Propose) -> None:
    proposal = propose()
    with pytest.raises(ApprovalRequiredError, match="needs a person's approval") as err:
        ledger.begin_execution(proposal.id, "cli", 30)
    assert err.value.code == "APPROVAL_REQUIRED"
    assert ledger.get_proposal(proposal.id).status is S.PENDING


def test_rejected_proposal_cannot_execute(ledger: SqliteLedger, propose: Propose) -> None:
    proposal = propose()
    ledger.decide(proposal.id, False, "alice")
    with pytest.raises(ConflictError, match="is rejected and cannot be executed"):
        ledger.begin_execution(proposal.id, "cli", 30)


def test_happy_path_runs_exactly_once(ledger: SqliteLedger, running: ExecutionHandle) -> None:
    pid, owner = running.proposal.id, running.lease_owner
    assert running.proposal.status is S.EXECUTING and running.attempt == 1 and not running.resumed
    ledger.record_step(pid, "create", {"list_id": "L1"}, owner)
    ledger.record_step(pid, "add_profiles", {"added": 3}, owner)
    assert ledger.finish(pid, owner, succeeded=True).status is S.SUCCEEDED
    execution = ledger.get_execution(pid)
    assert execution is not None and execution.status == "succeeded" and execution.finished_at == START
    assert execution.created == {"create": {"list_id": "L1"}, "add_profiles": {"added": 3}}
    assert execution.lease_owner is None
    with pytest.raises(ConflictError, match="is succeeded and cannot be executed: it already ran"):
        ledger.begin_execution(pid, "cli", 30)
    history = ledger.get_history(pid)
    moves = [(t.from_status, t.to_status, t.actor) for t in history.transitions]
    assert moves == [
        (None, S.PENDING, "mcp"),
        (S.PENDING, S.APPROVED, "approver:alice"),
        (S.APPROVED, S.EXECUTING, "cli:alice"),
        (S.EXECUTING, S.SUCCEEDED, "cli:alice"),
    ]
    assert json.dumps(history.to_dict())  # the audit view is plain JSON


def test_success_requires_every_step_journaled(ledger: SqliteLedger, running: ExecutionHandle) -> None:
    pid = running.proposal.id
    ledger.record_step(pid, "create", {"list_id": "L1"}, running.lease_owner)
    with pytest.raises(ConflictError, match=r"cannot succeed: steps \['add_profiles'\]"):
        ledger.finish(pid, running.lease_owner, succeeded=True)
    assert ledger.get_proposal(pid).status is S.EXECUTING


def test_non_retryable_failure_is_final(ledger: SqliteLedger, running: ExecutionHandle) -> None:
    pid = running.proposal.id
    error = {"code": "UPSTREAM_ERROR", "message": "400 invalid list name"}
    assert ledger.finish(pid, running.lease_owner, False, error).status is S.FAILED
    execution = ledger.get_execution(pid)
    assert execution is not None and execution.error == error and execution.status == "failed"
    assert ledger.get_history(pid).transitions[-1].note == "UPSTREAM_ERROR: 400 invalid list name"
    with pytest.raises(ConflictError, match="is failed and cannot be executed"):
        ledger.begin_execution(pid, "cli", 30)


@pytest.mark.parametrize(
    ("succeeded", "error", "retryable", "message"),
    [
        (True, {"code": "X", "message": "m"}, False, "carries no error"),
        (True, None, True, "carries no error"),
        (False, None, False, "must say why"),
    ],
)
def test_finish_refuses_contradictions(
    ledger: SqliteLedger, running: ExecutionHandle, succeeded: bool, error: dict[str, str] | None,
    retryable: bool, message: str,
) -> None:  # fmt: skip
    with pytest.raises(InvalidArgumentError, match=message):
        ledger.finish(running.proposal.id, running.lease_owner, succeeded, error, retryable)


def test_record_step_refuses_unknown_and_repeated_steps(ledger: SqliteLedger, running: ExecutionHandle) -> None:
    pid, owner = running.proposal.id, running.lease_owner
    with pytest.raises(InvalidArgumentError, match="has no step 'nope'"):
        ledger.record_step(pid, "nope", {}, owner)
    ledger.record_step(pid, "create", {"list_id": "L1"}, owner)
    with pytest.raises(ConflictError, match=r"'create' of proposal .* is already done"):
        ledger.record_step(pid, "create", {"list_id": "L2"}, owner)
    with pytest.raises(InvalidArgumentError, match="Unknown step status"):
        ledger.record_step(pid, "add_profiles", {}, owner, status="skipped")  # type: ignore[arg-type]
    assert ledger.completed_steps(pid) == {"create": {"list_id": "L1"}}


def test_steps_of_an_approved_but_not_running_proposal_are_refused(ledger: SqliteLedger, approved: Proposal) -> None:
    with pytest.raises(ConflictError, match="no longer holds the lease"):
        ledger.record_step(approved.id, "create", {}, "lease_forged")


def test_the_transition_table_is_the_documented_machine() -> None:
    documented = {
        S.PENDING: {S.APPROVED, S.REJECTED, S.EXPIRED},
        S.APPROVED: {S.EXECUTING, S.EXPIRED},  # expired: approved, never begun, past expires_at
        S.EXECUTING: {S.SUCCEEDED, S.FAILED, S.APPROVED, S.NEEDS_ATTENTION},
        S.NEEDS_ATTENTION: {S.APPROVED, S.FAILED},  # a person resolved it: resume, or abandon
        S.REJECTED: set(),
        S.EXPIRED: set(),
        S.SUCCEEDED: set(),
        S.FAILED: set(),
    }
    assert documented == TRANSITIONS
    with pytest.raises(ConflictError, match="cannot move from succeeded to executing"):
        check_transition("act_x", S.SUCCEEDED, S.EXECUTING)
    with pytest.raises(ConflictError, match="cannot move from pending to executing"):
        check_transition("act_x", S.PENDING, S.EXECUTING)


@pytest.mark.parametrize(
    ("field", "kwargs", "message"),
    [
        ("plan", {"plan": []}, "non-empty list"),
        ("plan", {"plan": [{"method": "POST"}]}, "non-empty 'step_id'"),
        ("plan", {"plan": plan_of("a", "a")}, "appears twice"),
        ("params", {"params": {"when": object()}}, "plain JSON"),
        ("plan", {"plan": [{"step_id": "a", "n": float("nan")}]}, "plain JSON"),
        ("ttl", {"ttl": timedelta(0)}, "positive"),
        ("account", {"account": ""}, "non-empty"),
        ("proposed_by", {"proposed_by": " "}, "non-empty"),
    ],
)
def test_create_refuses_bad_input(ledger: SqliteLedger, field: str, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "account": "acme", "action": "create_list", "params": {}, "plan": plan_of("a"),
        "summary": "s", "warnings": [], "proposed_by": "mcp",
    }  # fmt: skip
    with pytest.raises(InvalidArgumentError, match=message) as err:
        ledger.create_proposal(**{**args, **kwargs})  # type: ignore[arg-type]
    assert err.value.field == field
    assert ledger.list_proposals() == []


def test_needs_attention_is_left_only_by_a_persons_resolution(ledger: SqliteLedger, running: ExecutionHandle) -> None:
    pid, owner = running.proposal.id, running.lease_owner
    with pytest.raises(ConflictError, match="only a proposal in needs_attention"):
        ledger.resolve(pid, "none", "alice")
    with pytest.raises(InvalidArgumentError, match="names its step"):
        ledger.finish(pid, owner, succeeded=False, error={"code": "CONFLICT", "message": "?"}, attention=True)
    error = {"code": "CONFLICT", "message": "two candidates", "step_id": "create"}
    stopped = ledger.finish(pid, owner, succeeded=False, error=error, attention=True)
    assert stopped.status is S.NEEDS_ATTENTION
    with pytest.raises(ConflictError, match="resolve it first"):
        ledger.begin_execution(pid, "cli", 30)  # no executor moves it on
    for bad, object_id in (("guess", None), ("adopt", None), ("none", "L1"), ("adopt", "../L1")):
        with pytest.raises(InvalidArgumentError):
            ledger.resolve(pid, bad, "alice", object_id)
    resumed = ledger.resolve(pid, "adopt", "alice", "L1", note="checked in Klaviyo")
    assert resumed.status is S.APPROVED
    execution = ledger.get_execution(pid)
    assert execution is not None and execution.journal[-1].status == "resolved"
    assert execution.journal[-1].result == {
        "resolution": "adopt",
        "id": "L1",
        "by": "alice",
        "note": "checked in Klaviyo",
    }
    again = ledger.begin_execution(pid, "cli", 30)
    assert again.attempt == 2 and again.resumed


def test_abandoning_a_needs_attention_proposal_fails_it(ledger: SqliteLedger, running: ExecutionHandle) -> None:
    pid, owner = running.proposal.id, running.lease_owner
    ledger.finish(pid, owner, succeeded=False, error={"code": "CONFLICT", "message": "?", "step_id": "create"},
                  attention=True)  # fmt: skip
    assert ledger.resolve(pid, "abandon", "alice").status is S.FAILED
    execution = ledger.get_execution(pid)
    assert execution is not None and execution.finished_at is not None

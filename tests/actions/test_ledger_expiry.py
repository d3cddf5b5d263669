"""Expiry: a pending proposal past ``expires_at`` is expired, lazily, wherever it is next touched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from klaviyo_analytics.actions import Proposal, ProposalStatus, SqliteLedger
from klaviyo_analytics.errors import ConflictError
from tests.actions.ledger_helpers import START, FakeClock

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


def test_an_approved_proposal_does_not_expire(ledger: SqliteLedger, approved: Proposal, clock: FakeClock) -> None:
    clock.advance(days=3)
    assert ledger.get_proposal(approved.id).status is S.APPROVED
    assert ledger.begin_execution(approved.id, "cli", 30).proposal.status is S.EXECUTING

"""Ledger contract, listing: newest first (ties in insertion order, newest first), filters by account
and status, bounded limits. Every test here runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from klaviyo_analytics.actions import Proposal, SqliteLedger
from klaviyo_analytics.errors import InvalidArgumentError
from tests.actions.ledger_helpers import FakeClock, both_backends

__all__ = ["both_backends"]  # the fixture: every test here runs on SQLite and PostgreSQL

Propose = Callable[..., Proposal]


def test_newest_first_and_ties_in_reverse_insertion_order(
    ledger: SqliteLedger, propose: Propose, clock: FakeClock
) -> None:
    same_instant = [propose().id for _ in range(4)]  # the clock does not move: one created_at
    clock.advance(seconds=1)
    later = propose().id
    assert [p.id for p in ledger.list_proposals()] == [later, *same_instant[::-1]]
    assert [p.id for p in ledger.list_proposals(limit=2)] == [later, same_instant[-1]]


def test_filters_by_account_and_status(ledger: SqliteLedger, propose: Propose) -> None:
    acme, globex = propose(account="acme"), propose(account="globex")
    ledger.decide(acme.id, approve=True, approver="approver:alice")
    assert [p.id for p in ledger.list_proposals(account="globex")] == [globex.id]
    assert [p.id for p in ledger.list_proposals(status="approved")] == [acme.id]
    assert [p.id for p in ledger.list_proposals(account="acme", status="pending")] == []
    assert ledger.list_proposals(account="initech") == []


@pytest.mark.parametrize(("kwargs", "field"), [({"status": "done"}, "status"), ({"limit": 0}, "limit")])
def test_bad_listing_arguments_name_their_field(ledger: SqliteLedger, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        ledger.list_proposals(**kwargs)  # type: ignore[arg-type]
    assert err.value.details["field"] == field
    with pytest.raises(InvalidArgumentError):
        ledger.list_proposals(limit=501)

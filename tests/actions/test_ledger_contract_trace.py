"""Ledger contract, the trace: every upstream call, in order, with authorization-like keys dropped at any
depth. Every test here runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from klaviyo_analytics.actions import ExecutionHandle, Proposal, SqliteLedger
from klaviyo_analytics.actions.ledger import scrub_secrets
from klaviyo_analytics.errors import InvalidArgumentError, NotFoundError
from tests.actions.ledger_helpers import START, FakeClock, both_backends

__all__ = ["both_backends"]  # the fixture: every test here runs on SQLite and PostgreSQL

Propose = Callable[..., Proposal]


def test_trace_is_stored_in_call_order(ledger: SqliteLedger, running: ExecutionHandle, clock: FakeClock) -> None:
    pid = running.proposal.id
    first = ledger.add_trace(pid, None, "get", "/api/lists/", None, 200, 41.5)
    clock.advance(seconds=1)
    ledger.add_trace(pid, "create", "POST", "/api/lists/", {"data": {"name": "VIP"}}, 503, 120.0, error="upstream 503")
    trace = ledger.get_trace(pid)
    assert trace[0] == first
    assert [(t.step_id, t.method, t.status_code, t.error) for t in trace] == [
        (None, "GET", 200, None),
        ("create", "POST", 503, "upstream 503"),
    ]
    assert trace[1].request_body == {"data": {"name": "VIP"}}
    assert (trace[0].at, trace[1].at) == (START, START.replace(second=1))
    assert trace[0].seq < trace[1].seq
    assert json.dumps([t.to_dict() for t in trace])


def test_authorization_and_api_keys_are_dropped_at_any_depth(ledger: SqliteLedger, running: ExecutionHandle) -> None:
    body = {
        "Authorization": "Klaviyo-API-Key pk_live",
        "headers": {"authorization": "x", "X-Api-Key": "x", "Proxy-Authorization": "x", "revision": "2025-01-15"},
        "api_key": "pk_live",
        "data": [{"attributes": {"name": "VIP", "api-key": "pk_live", "APIKEY": "x"}}],
    }
    entry = ledger.add_trace(running.proposal.id, "create", "POST", "/api/lists/", body, 201, 10)
    expected = {"headers": {"revision": "2025-01-15"}, "data": [{"attributes": {"name": "VIP"}}]}
    assert entry.request_body == expected
    assert ledger.get_trace(running.proposal.id)[0].request_body == expected
    assert "pk_live" not in json.dumps(ledger.get_trace(running.proposal.id)[0].to_dict())


def test_scrubbing_leaves_other_values_alone() -> None:
    assert scrub_secrets(["a", 1, None, {"name": "authorization"}]) == ["a", 1, None, {"name": "authorization"}]


def test_trace_needs_a_known_proposal_and_sane_input(ledger: SqliteLedger, propose: Propose) -> None:
    with pytest.raises(NotFoundError, match="act_nope"):
        ledger.add_trace("act_nope", None, "GET", "/api/lists/", None, 200, 1)
    pid = propose().id
    with pytest.raises(InvalidArgumentError, match="latency_ms"):
        ledger.add_trace(pid, None, "GET", "/api/lists/", None, 200, -1)
    with pytest.raises(InvalidArgumentError, match="path"):
        ledger.add_trace(pid, None, "GET", "", None, 200, 1)
    assert ledger.get_trace(pid) == []

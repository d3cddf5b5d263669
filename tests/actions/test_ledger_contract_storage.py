"""Ledger contract, storage: schema versioning, conditional status updates, tamper detection and
constructor checks. Every test here runs on SQLite and PostgreSQL; the SQLite file's own rules (WAL,
pragmas, busy locks, unusable paths) are in test_ledger_sqlite_file.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from klaviyo_analytics.actions import ExecutionHandle, Proposal, ProposalStatus, SqliteLedger, postgres_ledger
from klaviyo_analytics.errors import ConfigError, ConflictError
from klaviyo_analytics.storage import sqlite_db
from tests.actions.ledger_helpers import START, FakeClock, both_backends, raw_ledger

__all__ = ["both_backends"]  # the fixture: every test here runs on SQLite and PostgreSQL

Propose = Callable[..., Proposal]
Reopen = Callable[..., SqliteLedger]
NEWEST = {"sqlite": len(sqlite_db.MIGRATIONS), "postgres": len(postgres_ledger.MIGRATIONS)}


def _schema_versions(ledger: SqliteLedger, backend: str) -> list[Any]:
    table = "schema_version" if backend == "sqlite" else "schema_migrations"
    with raw_ledger(ledger) as conn:
        return [row[0] for row in conn.execute(f"SELECT version FROM {table}").fetchall()]  # noqa: S608


def test_status_updates_are_conditional_on_the_status_read(ledger: SqliteLedger, propose: Propose) -> None:
    pending = propose()
    with pytest.raises(ConflictError, match="changed status concurrently"), ledger._tx() as conn:
        # a caller that believes the proposal is approved must not move it: UPDATE … WHERE status = ?
        ledger._move(conn, pending.id, ProposalStatus.APPROVED, ProposalStatus.EXECUTING, "cli", START)
    assert ledger.get_proposal(pending.id).status is ProposalStatus.PENDING
    assert len(ledger.get_history(pending.id).transitions) == 1


def test_schema_is_versioned_and_reopening_is_harmless(
    ledger: SqliteLedger, propose: Propose, reopen: Reopen, backend: str
) -> None:
    proposal = propose()
    again = reopen()
    assert again.get_proposal(proposal.id) == proposal
    assert again.ledger_health()["schema_version"] == NEWEST[backend]
    assert max(_schema_versions(ledger, backend)) == NEWEST[backend]


def test_a_newer_schema_is_refused(ledger: SqliteLedger, reopen: Reopen, backend: str) -> None:
    with raw_ledger(ledger) as conn:
        if backend == "sqlite":
            conn.execute("UPDATE schema_version SET version = 99")
        else:
            conn.execute("INSERT INTO schema_migrations VALUES (99, ?)", (START.isoformat(),))
    with pytest.raises(ConfigError, match="schema version 99, newer than this release"):
        reopen()


def _tamper(ledger: SqliteLedger, proposal_id: str, column: str, value: str) -> None:
    with raw_ledger(ledger) as conn:
        conn.execute(f"UPDATE proposals SET {column} = ? WHERE id = ?", (value, proposal_id))  # noqa: S608


TAMPERED_PLAN = '[{"method":"DELETE","path":"/api/lists/L1/","step_id":"create"}]'


@pytest.mark.parametrize(("column", "value"), [("plan", TAMPERED_PLAN), ("plan_hash", "0" * 64)])
def test_a_tampered_plan_never_runs(ledger: SqliteLedger, approved: Proposal, column: str, value: str) -> None:
    _tamper(ledger, approved.id, column, value)
    with pytest.raises(ConflictError, match="no longer matches its hash") as err:
        ledger.begin_execution(approved.id, "cli", 30)
    assert err.value.details["status"] == "tampered"
    assert ledger.get_proposal(approved.id).status is ProposalStatus.APPROVED
    assert ledger.get_execution(approved.id) is None


def test_a_tampered_plan_cannot_be_approved(ledger: SqliteLedger, propose: Propose) -> None:
    proposal = propose()
    _tamper(ledger, proposal.id, "plan", TAMPERED_PLAN)
    with pytest.raises(ConflictError, match="no longer matches its hash"):
        ledger.decide(proposal.id, True, "alice")
    assert ledger.get_proposal(proposal.id).status is ProposalStatus.PENDING


def test_a_plan_tampered_mid_execution_is_not_taken_over(
    ledger: SqliteLedger, running: ExecutionHandle, clock: FakeClock
) -> None:
    _tamper(ledger, running.proposal.id, "plan", TAMPERED_PLAN)
    clock.advance(minutes=5)
    with pytest.raises(ConflictError, match="no longer matches its hash"):
        ledger.begin_execution(running.proposal.id, "cli:bob", 30)


def test_clock_must_be_timezone_aware(ledger: SqliteLedger, reopen: Reopen) -> None:
    naive = reopen(clock=lambda: datetime(2025, 1, 1))
    with pytest.raises(ConfigError, match="timezone-aware"):
        naive.create_proposal("acme", "a", {}, [{"step_id": "s"}], "s", [], "mcp")


def test_default_ttl_must_be_positive(ledger: SqliteLedger, reopen: Reopen) -> None:
    with pytest.raises(ConfigError, match="TTL must be positive"):
        reopen(default_ttl=timedelta(seconds=-1))

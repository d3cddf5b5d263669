"""The SQLite file: WAL, per-connection pragmas, schema versioning, tamper detection, error mapping."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from klaviyo_analytics.actions import ExecutionHandle, Proposal, ProposalStatus, SqliteLedger
from klaviyo_analytics.errors import ConfigError, ConflictError
from klaviyo_analytics.storage.sqlite_db import MIGRATIONS
from tests.actions.ledger_helpers import START, FakeClock, raw_db

Propose = Callable[..., Proposal]


def test_file_is_in_wal_mode_and_parents_are_created(ledger: SqliteLedger, db_path: Path) -> None:
    assert db_path.is_file()
    with raw_db(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    health = ledger.ledger_health()
    assert health["journal_mode"] == "wal" and health["path"] == str(db_path)
    assert health["schema_version"] == len(MIGRATIONS)


def test_every_connection_waits_for_locks_and_syncs_normally(ledger: SqliteLedger) -> None:
    with ledger.db.connect() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_opening_a_fresh_file_waits_out_another_writer(tmp_path: Path) -> None:
    """SQLite refuses the WAL switch at once (no busy handler) while another process writes a
    fresh file; the ledger retries until busy_timeout instead of failing."""
    path = tmp_path / "fresh.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None, check_same_thread=False)) as blocker:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(ConflictError, match="ledger is busy"):
            SqliteLedger(path, busy_timeout=0.05)
        release = threading.Timer(0.2, blocker.execute, ("COMMIT",))
        started = time.monotonic()
        release.start()
        try:
            ledger = SqliteLedger(path, busy_timeout=5)
        finally:
            release.join()
    assert time.monotonic() - started >= 0.2
    assert ledger.ledger_health()["journal_mode"] == "wal"


def test_an_in_memory_ledger_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"cannot use WAL mode \(got memory\)"):
        SqliteLedger(Path(":memory:"))


def test_status_updates_are_conditional_on_the_status_read(ledger: SqliteLedger, propose: Propose) -> None:
    pending = propose()
    with pytest.raises(ConflictError, match="changed status concurrently"), ledger._tx() as conn:
        # a caller that believes the proposal is approved must not move it: UPDATE … WHERE status = ?
        ledger._move(conn, pending.id, ProposalStatus.APPROVED, ProposalStatus.EXECUTING, "cli", START)
    assert ledger.get_proposal(pending.id).status is ProposalStatus.PENDING
    assert len(ledger.get_history(pending.id).transitions) == 1


def test_schema_is_versioned_and_reopening_is_harmless(
    ledger: SqliteLedger, propose: Propose, db_path: Path, clock: FakeClock
) -> None:
    proposal = propose()
    again = SqliteLedger(db_path, clock)
    assert again.get_proposal(proposal.id) == proposal
    with raw_db(db_path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(len(MIGRATIONS),)]


def test_a_newer_schema_is_refused(ledger: SqliteLedger, db_path: Path) -> None:
    with raw_db(db_path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(ConfigError, match="schema version 99, newer than this release"):
        SqliteLedger(db_path)


def _tamper(db_path: Path, proposal_id: str, column: str, value: str) -> None:
    with raw_db(db_path) as conn:
        conn.execute(f"UPDATE proposals SET {column} = ? WHERE id = ?", (value, proposal_id))  # noqa: S608


TAMPERED_PLAN = '[{"method":"DELETE","path":"/api/lists/L1/","step_id":"create"}]'


@pytest.mark.parametrize(("column", "value"), [("plan", TAMPERED_PLAN), ("plan_hash", "0" * 64)])
def test_a_tampered_plan_never_runs(
    ledger: SqliteLedger, approved: Proposal, db_path: Path, column: str, value: str
) -> None:
    _tamper(db_path, approved.id, column, value)
    with pytest.raises(ConflictError, match="no longer matches its hash") as err:
        ledger.begin_execution(approved.id, "cli", 30)
    assert err.value.details["status"] == "tampered"
    assert ledger.get_proposal(approved.id).status is ProposalStatus.APPROVED
    assert ledger.get_execution(approved.id) is None


def test_a_tampered_plan_cannot_be_approved(ledger: SqliteLedger, propose: Propose, db_path: Path) -> None:
    proposal = propose()
    _tamper(db_path, proposal.id, "plan", TAMPERED_PLAN)
    with pytest.raises(ConflictError, match="no longer matches its hash"):
        ledger.decide(proposal.id, True, "alice")
    assert ledger.get_proposal(proposal.id).status is ProposalStatus.PENDING


def test_a_plan_tampered_mid_execution_is_not_taken_over(
    ledger: SqliteLedger, running: ExecutionHandle, db_path: Path, clock: FakeClock
) -> None:
    _tamper(db_path, running.proposal.id, "plan", TAMPERED_PLAN)
    clock.advance(minutes=5)
    with pytest.raises(ConflictError, match="no longer matches its hash"):
        ledger.begin_execution(running.proposal.id, "cli:bob", 30)


def test_a_held_write_lock_becomes_a_busy_conflict(db_path: Path, propose: Propose) -> None:
    impatient = SqliteLedger(db_path, busy_timeout=0.05)
    with closing(sqlite3.connect(db_path, isolation_level=None)) as blocker:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(ConflictError, match="ledger is busy"):
            impatient.create_proposal("acme", "a", {}, [{"step_id": "s"}], "s", [], "mcp")
        blocker.execute("ROLLBACK")
    assert impatient.list_proposals() == []


def test_an_unusable_path_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ConfigError, match="Cannot create the ledger directory"):
        SqliteLedger(tmp_path / "file" / "ledger.sqlite3")
    (tmp_path / "garbage.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="cannot be used"):
        SqliteLedger(tmp_path / "garbage.sqlite3")
    with pytest.raises(ConfigError, match="cannot be used"):
        SqliteLedger(tmp_path)  # a directory, not a file


def test_clock_must_be_timezone_aware(db_path: Path) -> None:
    naive = SqliteLedger(db_path, clock=lambda: datetime(2025, 1, 1))
    with pytest.raises(ConfigError, match="timezone-aware"):
        naive.create_proposal("acme", "a", {}, [{"step_id": "s"}], "s", [], "mcp")


def test_default_ttl_must_be_positive(db_path: Path) -> None:
    with pytest.raises(ConfigError, match="TTL must be positive"):
        SqliteLedger(db_path, default_ttl=timedelta(seconds=-1))

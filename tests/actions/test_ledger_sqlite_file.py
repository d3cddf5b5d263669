"""The SQLite backend's own file rules: WAL, per-connection pragmas, busy locks, unusable paths.
What every backend must do is in the ledger contract suite (test_ledger_contract_*.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from klaviyo_analytics.actions import Proposal, SqliteLedger
from klaviyo_analytics.errors import ConfigError, ConflictError
from klaviyo_analytics.storage.sqlite_db import MIGRATIONS
from tests.actions.ledger_helpers import FakeClock, raw_db

Propose = Callable[..., Proposal]


def test_file_is_in_wal_mode_and_parents_are_created(ledger: SqliteLedger, db_path: Path) -> None:
    assert db_path.is_file()
    with raw_db(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    health = ledger.ledger_health()
    assert health["journal_mode"] == "wal" and health["path"] == str(db_path)
    assert health["schema_version"] == len(MIGRATIONS)


def test_every_connection_waits_for_locks_and_syncs_normally(ledger: SqliteLedger) -> None:
    with ledger.db.connect() as conn:  # type: ignore[attr-defined]
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


def test_the_schema_version_table_holds_one_row(ledger: SqliteLedger, db_path: Path, clock: FakeClock) -> None:
    SqliteLedger(db_path, clock)  # reopening adds no row
    with raw_db(db_path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(len(MIGRATIONS),)]


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

"""``PostgresLedger``: the same ledger rules as ``SqliteLedger``, on PostgreSQL (psycopg 3).

The rules are ``SqlLedger``'s SQL, unchanged; every dialect difference lives here:

- placeholders: the ledger writes ``?``, psycopg wants ``%s`` (``_Conn.execute``);
- locking: SQLite serializes writers with ``BEGIN IMMEDIATE``; here a change runs in a
  READ COMMITTED transaction and locks the proposal row (``PROPOSAL_ROW … FOR UPDATE``) before it
  reads anything else about it, so two executors of one proposal queue on that row;
- insertion order: SQLite's ``rowid`` is the identity column ``seq`` here.

Timestamps are stored as the SQLite backend stores them (timezone-aware ISO strings), so one
model layer (``models.*_from_row``) reads both.

Migrations are a small explicit ``schema_migrations`` table (version, applied_at), applied in one
transaction under ``pg_advisory_xact_lock`` so two processes starting at once do not race. Not
Alembic: one small schema, no ORM, and two dialects whose history is a few statements each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg.rows import RowMaker

from klaviyo_analytics.actions.models import iso, utc_now
from klaviyo_analytics.actions.sql_ledger import PROPOSAL_ROW, SqlLedger
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.storage.pg import QmarkConnection, connect, redacted

# Any constant key: every process migrating this database takes the same lock.
MIGRATION_LOCK_KEY = 0x6B6C6176  # "klav"

# MIGRATIONS[n] takes the schema from version n to n + 1. Append; never edit a shipped entry.
# Version 1 is SQLite's versions 1 and 2 together (PostgreSQL starts with the signature column).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE proposals (
            id TEXT PRIMARY KEY, account TEXT NOT NULL, action TEXT NOT NULL, params TEXT NOT NULL,
            plan TEXT NOT NULL, plan_hash TEXT NOT NULL, summary TEXT NOT NULL, warnings TEXT NOT NULL,
            status TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
            proposed_by TEXT NOT NULL, seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE)""",
        "CREATE INDEX proposals_by_account ON proposals (account, created_at)",
        "CREATE INDEX proposals_by_status ON proposals (status, expires_at)",
        """CREATE TABLE decisions (
            proposal_id TEXT PRIMARY KEY REFERENCES proposals (id), approved INTEGER NOT NULL,
            approver TEXT NOT NULL, decided_at TEXT NOT NULL, reason TEXT, signature TEXT)""",
        """CREATE TABLE executions (
            proposal_id TEXT PRIMARY KEY REFERENCES proposals (id), status TEXT NOT NULL,
            executor TEXT NOT NULL, attempts INTEGER NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT, error TEXT, lease_owner TEXT, lease_expires_at TEXT)""",
        """CREATE TABLE journal (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            proposal_id TEXT NOT NULL REFERENCES proposals (id), step_id TEXT NOT NULL,
            status TEXT NOT NULL, result TEXT NOT NULL, attempt INTEGER NOT NULL, at TEXT NOT NULL)""",
        "CREATE UNIQUE INDEX journal_done_once ON journal (proposal_id, step_id) WHERE status = 'done'",
        """CREATE TABLE trace (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            proposal_id TEXT NOT NULL REFERENCES proposals (id), step_id TEXT, method TEXT NOT NULL,
            path TEXT NOT NULL, request_body TEXT, status_code INTEGER,
            latency_ms DOUBLE PRECISION NOT NULL, at TEXT NOT NULL, error TEXT)""",
        "CREATE INDEX trace_by_proposal ON trace (proposal_id, seq)",
        """CREATE TABLE transitions (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            proposal_id TEXT NOT NULL REFERENCES proposals (id), from_status TEXT,
            to_status TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL, note TEXT)""",
        "CREATE INDEX transitions_by_proposal ON transitions (proposal_id, seq)",
    ),
)


class _Row(tuple[Any, ...]):
    """A row readable by index and by column name, as ``sqlite3.Row`` is."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: psycopg.Cursor[Any]) -> RowMaker[_Row]:
    names = {c.name: i for i, c in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> _Row:
        row = _Row(values)
        row.names = names
        return row

    return make


class _Conn(QmarkConnection):
    """The ledger's SQL on psycopg; inside a change, reading the proposal's row locks it."""

    def __init__(self, conn: psycopg.Connection[_Row], write: bool) -> None:
        super().__init__(conn)
        self.write = write

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.write and sql == PROPOSAL_ROW:
            sql += " FOR UPDATE"  # the one lock a change takes: this proposal's row
        return super().execute(sql, params)


class PostgresDatabase:
    """One PostgreSQL database, migrated to the newest schema when opened."""

    insertion_order = "seq"

    def __init__(self, url: str, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.path = Path(redacted(url))  # what ``SqlLedger.path`` callers print
        self.connect_timeout = connect_timeout
        self._open()

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection[_Row]]:
        with connect(self.url, self.connect_timeout, "The action ledger", _row_factory) as conn:
            yield conn

    @contextmanager
    def tx(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """A transaction; ``IMMEDIATE`` (a change) locks the proposal rows it reads."""
        with self.connect() as conn, conn.transaction():
            yield cast(sqlite3.Connection, _Conn(conn, write=mode == "IMMEDIATE"))

    def _open(self) -> None:
        with self.connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
            current = int(row[0]) if row is not None else 0
            if current > len(MIGRATIONS):
                raise ConfigError(
                    f"The ledger at {redacted(self.url)} has schema version {current}, newer than this release "
                    f"understands ({len(MIGRATIONS)}); upgrade klaviyo-mcp.",
                )
            for version, statements in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, iso(utc_now())))

    def health(self) -> dict[str, object]:
        with self.connect() as conn:
            row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return {"backend": "postgresql", "url": redacted(self.url), "schema_version": None if row is None else row[0]}


class PostgresLedger(SqlLedger):
    """The ``Ledger`` on PostgreSQL: ``SqlLedger``'s rules on a ``PostgresDatabase``.

    Takes ``SqlLedger``'s arguments with a database URL for the path; ``busy_timeout`` is
    the connect timeout.
    """

    @staticmethod
    def _open_database(location: Path | str, timeout: float) -> PostgresDatabase:
        return PostgresDatabase(str(location), timeout)


__all__ = ["PostgresDatabase", "PostgresLedger"]

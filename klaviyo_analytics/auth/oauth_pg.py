"""The embedded authorization server's state in PostgreSQL (``KLAVIYO_MCP_LEDGER_URL``), for several machines.

Same SQL as the SQLite store, in its own ``oauth`` schema of the ledger's database (created on
first use, under an advisory lock so instances starting together do not race).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

import psycopg

from klaviyo_analytics.auth.oauth_store import ADDED_COLUMNS, SCHEMA, SqliteOAuthStore
from klaviyo_analytics.storage.pg import QmarkConnection, connect

SCHEMA_NAME = "oauth"
SCHEMA_LOCK_KEY = 0x6F617574  # "oaut": every instance creating the tables takes this lock


class PostgresOAuthStore(SqliteOAuthStore):
    """The ``OAuthStore`` on PostgreSQL: the SQLite backend's SQL on psycopg."""

    def __init__(self, url: str, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        with self._connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            # search_path is resolved per statement: the tables land in the schema just made.
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA_NAME}")
            for statement in SCHEMA:
                conn.execute(statement.format(time="DOUBLE PRECISION"))
            for table, column, kind in ADDED_COLUMNS:
                kind = kind.format(time="DOUBLE PRECISION")
                conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")

    def _connect(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        return connect(self.url, self.connect_timeout, "The OAuth state", options=f"-c search_path={SCHEMA_NAME}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn, conn.transaction():
            yield cast(sqlite3.Connection, QmarkConnection(conn))

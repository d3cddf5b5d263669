"""One transaction on an autocommit SQLite connection, for every SQLite file the product keeps
(the ledger, the quota store, the OAuth state): ``BEGIN`` in the given mode, ``COMMIT`` when the
block ends, ``ROLLBACK`` on any exception (then re-raised)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """``IMMEDIATE`` takes the write lock up front (a change); ``DEFERRED`` suits a consistent read."""
    conn.execute(f"BEGIN {mode}")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")

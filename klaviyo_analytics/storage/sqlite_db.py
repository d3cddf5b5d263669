"""``SqliteDatabase``: the SQLite file under the ledger — connections, transactions, WAL, schema.

Each call opens its own short-lived connection (safe across threads and gunicorn's fork) and
closes it. Changes run in ``BEGIN IMMEDIATE``: the write lock is taken before anything is read,
so a busy database is waited out through ``busy_timeout`` instead of failing on a read→write
upgrade. sqlite3 errors never leave this module: they become ``ConflictError`` (busy) or
``ConfigError`` (an unusable file).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from klaviyo_analytics.errors import ConfigError, ConflictError
from klaviyo_analytics.storage.sqlite_tx import transaction

# MIGRATIONS[n] takes the schema from version n to n + 1. Append; never edit a shipped entry.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE proposals (
            id TEXT PRIMARY KEY, account TEXT NOT NULL, action TEXT NOT NULL, params TEXT NOT NULL,
            plan TEXT NOT NULL, plan_hash TEXT NOT NULL, summary TEXT NOT NULL, warnings TEXT NOT NULL,
            status TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
            proposed_by TEXT NOT NULL)""",
        "CREATE INDEX proposals_by_account ON proposals (account, created_at)",
        "CREATE INDEX proposals_by_status ON proposals (status, expires_at)",
        """CREATE TABLE decisions (
            proposal_id TEXT PRIMARY KEY REFERENCES proposals (id), approved INTEGER NOT NULL,
            approver TEXT NOT NULL, decided_at TEXT NOT NULL, reason TEXT)""",
        """CREATE TABLE executions (
            proposal_id TEXT PRIMARY KEY REFERENCES proposals (id), status TEXT NOT NULL,
            executor TEXT NOT NULL, attempts INTEGER NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT, error TEXT, lease_owner TEXT, lease_expires_at TEXT)""",
        """CREATE TABLE journal (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, proposal_id TEXT NOT NULL REFERENCES proposals (id),
            step_id TEXT NOT NULL, status TEXT NOT NULL, result TEXT NOT NULL, attempt INTEGER NOT NULL,
            at TEXT NOT NULL)""",
        # A step is done at most once, whatever a caller does: the database says so too.
        "CREATE UNIQUE INDEX journal_done_once ON journal (proposal_id, step_id) WHERE status = 'done'",
        """CREATE TABLE trace (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, proposal_id TEXT NOT NULL REFERENCES proposals (id),
            step_id TEXT, method TEXT NOT NULL, path TEXT NOT NULL, request_body TEXT,
            status_code INTEGER, latency_ms REAL NOT NULL, at TEXT NOT NULL, error TEXT)""",
        "CREATE INDEX trace_by_proposal ON trace (proposal_id, seq)",
        """CREATE TABLE transitions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, proposal_id TEXT NOT NULL REFERENCES proposals (id),
            from_status TEXT, to_status TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL, note TEXT)""",
        "CREATE INDEX transitions_by_proposal ON transitions (proposal_id, seq)",
    ),
    # 2: an approval carries the HMAC that binds it to the plan, account and expiry (``signing``).
    ("ALTER TABLE decisions ADD COLUMN signature TEXT",),
)


class SqliteDatabase:
    """One SQLite file in WAL mode, migrated to the newest schema when opened."""

    insertion_order = "rowid"

    def __init__(self, path: Path, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._keepalive: tuple[int, sqlite3.Connection] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"Cannot create the ledger directory {self.path.parent}: {exc}") from exc
        self._open()

    def _keep_alive(self) -> None:
        """Hold one idle connection per process: closing the *last* connection to a WAL file
        checkpoints it (an fsync), which would otherwise happen on every call. Never used, so
        a forked child simply opens its own (one inherited across fork must not be touched)."""
        if self._keepalive is None or self._keepalive[0] != os.getpid():
            self._keepalive = (os.getpid(), sqlite3.connect(self.path, check_same_thread=False))

    def _private_files(self) -> None:
        """The file is the owner's alone (0600): plans, bodies and traces are account data. Made
        before SQLite opens it, so it is never created wider; SQLite gives -wal and -shm the main
        file's mode when it creates them."""
        try:
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            self.path.chmod(0o600)  # an older, wider file is narrowed too
        except OSError:
            return  # a directory or unusable path: sqlite3 says so with a clear error below

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh autocommit connection with this database's pragmas; always closed."""
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self.mapped(exc) from exc
        try:
            self._keep_alive()
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL; fsync at checkpoints
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        except sqlite3.Error as exc:
            raise self.mapped(exc) from exc
        finally:
            conn.close()

    @contextmanager
    def tx(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """A transaction: IMMEDIATE for changes, DEFERRED for a consistent multi-table read."""
        with self.connect() as conn, transaction(conn, mode):
            yield conn

    def mapped(self, exc: sqlite3.Error) -> ConflictError | ConfigError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return ConflictError(
                "The action ledger is busy (another process holds its write lock); try again.",
                path=str(self.path),
            )
        return ConfigError(f"The action ledger at {self.path} cannot be used: {text}", path=str(self.path))

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        # WAL is persistent in the file, so this is a no-op after the first open. Switching a fresh
        # file needs an exclusive lock, and while another process holds a write lock on it SQLite
        # answers "locked" at once, without its busy handler: retry until busy_timeout instead.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.005)
                continue
            if mode != "wal":  # e.g. ":memory:", which no second process could share anyway
                raise ConfigError(f"The ledger at {self.path} cannot use WAL mode (got {mode}).", path=str(self.path))
            return

    def _open(self) -> None:
        if str(self.path) != ":memory:":
            self._private_files()
        with self.connect() as conn:
            self._enable_wal(conn)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            if current > len(MIGRATIONS):
                conn.execute("ROLLBACK")
                raise ConfigError(
                    f"The ledger at {self.path} has schema version {current}, newer than this release "
                    f"understands ({len(MIGRATIONS)}); upgrade klaviyo-mcp.",
                )
            for version, statements in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in statements:
                    conn.execute(statement)
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")

    def health(self) -> dict[str, object]:
        with self.tx("DEFERRED") as conn:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        return {"backend": "sqlite", "path": str(self.path), "journal_mode": mode, "schema_version": version}

"""``sqlite:///path``: the embedded default, one WAL file shared by every process on the machine.

Each reservation is one ``BEGIN IMMEDIATE`` transaction: SQLite's write lock makes the read of
the send log and the insert of the new send atomic across processes, which is the whole
guarantee; ``finish`` stamps a send's answer in another. Connections are per thread and per
process (a forked gunicorn worker opens its own). Times are the machine's wall clock, which every
process on it shares.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from klaviyo_analytics.quota.base import (
    WAITER_GRACE_SECONDS,
    CacheEntry,
    Reservation,
    Send,
    StoreUnavailable,
    Window,
    decode_entry,
    earliest,
    encode_entry,
    queue_turn,
)
from klaviyo_analytics.storage.sqlite_tx import transaction

BUSY_TIMEOUT_SECONDS = 10.0
# Expired-and-stale cache rows are swept once every this many writes.
SWEEP_EVERY = 200

SCHEMA = """
-- The slot log before sends carried their answers; a file from then starts a fresh log.
DROP TABLE IF EXISTS slots;
CREATE TABLE IF NOT EXISTS sends (account TEXT NOT NULL, bucket TEXT NOT NULL, token TEXT PRIMARY KEY,
                                  at REAL NOT NULL, end_at REAL NOT NULL, open INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sends_by_bucket ON sends (account, bucket, end_at);
CREATE TABLE IF NOT EXISTS waiters (account TEXT NOT NULL, bucket TEXT NOT NULL, id TEXT NOT NULL,
                                    since REAL NOT NULL, until REAL NOT NULL, PRIMARY KEY (account, bucket, id));
CREATE TABLE IF NOT EXISTS blocks (account TEXT NOT NULL, bucket TEXT NOT NULL, until REAL NOT NULL,
                                   PRIMARY KEY (account, bucket));
CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, entry TEXT NOT NULL, keep_until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS flights (key TEXT PRIMARY KEY, until REAL NOT NULL);
"""


class SqliteStore:
    backend = "sqlite"

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._local = threading.local()
        self._writes = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the directory of the quota file ({exc.strerror})") from None
        try:
            self._connection().executescript(SCHEMA)  # executescript manages its own transaction
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the quota file cannot be used ({type(exc).__name__}: {exc})") from None

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db, self._local.pid = db, os.getpid()
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            with transaction(self._connection()) as db:
                yield db
        except sqlite3.Error as exc:
            self._local.db = None  # a broken connection is reopened on the next call
            raise StoreUnavailable(f"the quota file cannot be used ({type(exc).__name__}: {exc})") from None

    def ping(self) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM flights WHERE until < ?", (self._clock(),))

    def reserve(
        self,
        account: str,
        bucket: str,
        windows: Sequence[Window],
        max_wait: float,
        flight: float = 0.0,
        waiter: str = "",
    ) -> Reservation:
        longest = max((w.seconds for w in windows), default=0.0)
        with self._tx() as db:
            now = self._clock()
            if max_wait >= 0:  # a peek writes nothing
                db.execute(
                    "DELETE FROM sends WHERE account = ? AND bucket = ? AND end_at <= ?",
                    (account, bucket, now - longest),
                )
            rows = db.execute(
                "SELECT at, end_at, open FROM sends WHERE account = ? AND bucket = ? AND end_at > ?",
                (account, bucket, now - longest),
            ).fetchall()
            log = [Send(at, end, bool(open_)) for at, end, open_ in rows]
            blocked = db.execute("SELECT until FROM blocks WHERE account = ? AND bucket = ?", (account, bucket))
            row = blocked.fetchone()
            ahead, since = 0, now
            if waiter and max_wait >= 0:
                queue = db.execute(
                    "SELECT id, since, until FROM waiters WHERE account = ? AND bucket = ?", (account, bucket)
                ).fetchall()
                ahead, since, _ = queue_turn({w: (a, b) for w, a, b in queue}, waiter, now)
                db.execute(
                    "DELETE FROM waiters WHERE account = ? AND bucket = ? AND (until <= ? OR id = ?)",
                    (account, bucket, now, waiter),
                )
            slot, limit, pending = earliest(log, windows, now, row[0] if row else 0.0, ahead)
            wait = slot - now
            if waiter and max_wait >= 0 and pending and wait <= max_wait:
                db.execute(
                    "INSERT INTO waiters (account, bucket, id, since, until) VALUES (?, ?, ?, ?, ?)",
                    (account, bucket, waiter, since, now + max(wait, 0.0) + WAITER_GRACE_SECONDS),
                )
            if pending or wait > max_wait:
                return Reservation(False, wait, limit, slot, pending=pending and wait <= max_wait)
            token = uuid.uuid4().hex
            db.execute(
                "INSERT INTO sends (account, bucket, token, at, end_at, open) VALUES (?, ?, ?, ?, ?, ?)",
                (account, bucket, token, slot, slot + flight, int(flight > 0)),
            )
            return Reservation(True, wait, limit, slot, token)

    def finish(self, account: str, bucket: str, token: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE sends SET end_at = max(at, ?), open = 0 "
                "WHERE account = ? AND bucket = ? AND token = ? AND open",
                (self._clock(), account, bucket, token),
            )

    def block(self, account: str, bucket: str, seconds: float) -> None:
        with self._tx() as db:
            until = self._clock() + seconds
            db.execute(
                "INSERT INTO blocks (account, bucket, until) VALUES (?, ?, ?) ON CONFLICT (account, bucket) "
                "DO UPDATE SET until = max(until, excluded.until)",
                (account, bucket, until),
            )

    def used(self, account: str, bucket: str, seconds: float) -> int:
        with self._tx() as db:
            row = db.execute(
                "SELECT count(*) FROM sends WHERE account = ? AND bucket = ? AND at > ?",
                (account, bucket, self._clock() - seconds),
            ).fetchone()
            return int(row[0])

    def cache_get(self, key: str) -> CacheEntry | None:
        with self._tx() as db:
            row = db.execute("SELECT entry, keep_until FROM cache WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            entry = decode_entry(row[0]) if row[1] > self._clock() else None
            if entry is None:
                db.execute("DELETE FROM cache WHERE key = ?", (key,))
            return entry

    def cache_put(self, key: str, value: Any, ttl: float, keep: float) -> None:
        with self._tx() as db:
            now = self._clock()
            db.execute(
                "INSERT OR REPLACE INTO cache (key, entry, keep_until) VALUES (?, ?, ?)",
                (key, encode_entry(value, now, now + ttl), now + ttl + keep),
            )
            self._writes += 1
            if self._writes % SWEEP_EVERY == 0:
                db.execute("DELETE FROM cache WHERE keep_until <= ?", (now,))

    def corrupt(self, key: str, text: str) -> None:
        """Overwrite an entry's stored text (tests of the corrupt-entry rule)."""
        with self._tx() as db:
            db.execute("UPDATE cache SET entry = ? WHERE key = ?", (text, key))

    def cache_clear(self) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM cache")

    def lead(self, key: str, lease: float) -> bool:
        with self._tx() as db:
            now = self._clock()
            row = db.execute("SELECT until FROM flights WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] > now:
                return False
            db.execute("INSERT OR REPLACE INTO flights (key, until) VALUES (?, ?)", (key, now + lease))
            return True

    def release(self, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM flights WHERE key = ?", (key,))

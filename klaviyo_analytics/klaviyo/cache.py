"""The cache of successful Klaviyo reads, kept in the quota store.

Keys are built by the client from account + method + path + params + body, so accounts never
share entries; the store sees a hash of that key. Values travel as JSON, so a caller that
mutates a result cannot corrupt the cache, and a corrupt entry is discarded by the store, never
served. Only successful responses to reads are stored (the client never offers a write's
answer), and never one that holds a registered secret (redact.holds_secret). An expired entry
is kept ``keep`` seconds longer as *stale*: never served as fresh, only as an honest, flagged
answer when the quota refuses a new call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from klaviyo_analytics.clock import SYSTEM_CLOCK
from klaviyo_analytics.klaviyo.memo import ResultMemo, note_read, note_uncacheable
from klaviyo_analytics.klaviyo.redact import holds_secret
from klaviyo_analytics.quota import CacheEntry, MemoryStore, QuotaStore, StoreUnavailable

DEFAULT_KEEP_SECONDS = 7 * 86400.0


def cache_key(account: str, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> str:
    return json.dumps(
        [account, method.upper(), path, sorted((params or {}).items()), body],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def store_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class TTLCache:
    def __init__(
        self,
        store: QuotaStore | None = None,
        clock: Callable[[], float] = SYSTEM_CLOCK.time,
        keep_seconds: float = DEFAULT_KEEP_SECONDS,
    ) -> None:
        self.store: QuotaStore = store if store is not None else MemoryStore(clock)
        self._clock = clock
        self.keep_seconds = keep_seconds
        self.hits = 0
        self.misses = 0
        # Finished tool results built from these entries (memo.py); never outlives them.
        self.memo = ResultMemo(clock)

    def now(self) -> float:
        """The time entries are stamped and judged with (their ``fetched_at`` is on this clock)."""
        return self._clock()

    def entry(self, key: str) -> CacheEntry | None:
        """The entry, fresh or stale, without counting a hit or a miss."""
        return self.store.cache_get(store_key(key))

    def get(self, key: str) -> Any | None:
        entry = self.entry(key)
        if entry is None or not entry.fresh(self._clock()):
            self.misses += 1
            return None
        self.hits += 1
        note_read(entry.expires_at)
        return entry.value

    def contains(self, key: str) -> bool:
        """Whether ``get`` would hit, without counting a hit or a miss."""
        entry = self.entry(key)
        return entry is not None and entry.fresh(self._clock())

    def put(self, key: str, value: Any, ttl: float) -> None:
        if ttl <= 0 or holds_secret(value):
            # A read whose answer holds a secret this process knows (a key, a token, a webhook
            # secret Klaviyo echoed) is answered once and never kept: the shared store (Redis,
            # a SQLite file) outlives the process and is read by others.
            note_uncacheable()
            return
        expires_at = self._clock() + ttl
        try:
            self.store.cache_put(store_key(key), value, ttl, self.keep_seconds)
        except (TypeError, ValueError, StoreUnavailable):
            # Not JSON (never the case for a Klaviyo document), or the store is down: simply not
            # cached, so nothing built from it may be memoized either.
            note_uncacheable()
            return
        note_read(expires_at)

    def clear(self) -> None:
        self.store.cache_clear()
        self.memo.clear()

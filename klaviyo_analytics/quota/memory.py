"""``memory://``: the quota store inside one process (tests, single-process use, and the fallback).

Values are kept as JSON text, so what a caller gets is always a copy and a corrupt entry reads
as missing, exactly as in the shared stores. The cache is bounded (least recently used first).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from klaviyo_analytics.quota.base import (
    WAITER_GRACE_SECONDS,
    CacheEntry,
    Reservation,
    Send,
    Window,
    decode_entry,
    earliest,
    encode_entry,
    expired,
    queue_turn,
)

DEFAULT_MAX_ENTRIES = 4096


class MemoryStore:
    backend = "memory"

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        *,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        # Cache times are wall times (an answer says when it was fetched); slot times are only ever
        # compared with each other inside this process, so ``monotonic`` (when given) keeps the
        # pacer's windows immune to steps of the wall clock.
        self._clock = clock
        self._slot_clock = monotonic or clock
        self._max = max_entries
        self._lock = threading.Lock()
        self._logs: dict[tuple[str, str], dict[str, Send]] = {}  # token -> send, in slot order
        self._blocked: dict[tuple[str, str], float] = {}
        self._waiters: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
        self._cache: OrderedDict[str, tuple[float, str]] = OrderedDict()  # key -> (keep_until, entry text)
        self._flights: dict[str, float] = {}

    def ping(self) -> None:
        return None

    def reserve(
        self,
        account: str,
        bucket: str,
        windows: Sequence[Window],
        max_wait: float,
        flight: float = 0.0,
        waiter: str = "",
    ) -> Reservation:
        key = (account, bucket)
        with self._lock:
            now = self._slot_clock()
            log = self._logs.setdefault(key, {})
            longest = max((w.seconds for w in windows), default=0.0)
            for token in [t for t, send in log.items() if expired(send, now, longest)]:
                del log[token]
            ahead, since = 0, now
            if waiter and max_wait >= 0:
                waiters = self._waiters.setdefault(key, {})
                ahead, since, lapsed = queue_turn(waiters, waiter, now)
                for other in lapsed:
                    del waiters[other]
                waiters.pop(waiter, None)
            slot, limit, pending = earliest(list(log.values()), windows, now, self._blocked.get(key, 0.0), ahead)
            wait = slot - now
            if waiter and max_wait >= 0 and pending and wait <= max_wait:
                self._waiters[key][waiter] = (since, now + max(wait, 0.0) + WAITER_GRACE_SECONDS)
            if pending or wait > max_wait:
                return Reservation(False, wait, limit, slot, pending=pending and wait <= max_wait)
            token = uuid.uuid4().hex
            log[token] = Send(slot, slot + flight, flight > 0)
            return Reservation(True, wait, limit, slot, token)

    def finish(self, account: str, bucket: str, token: str) -> None:
        with self._lock:
            log = self._logs.get((account, bucket))
            send = log.get(token) if log is not None else None
            if log is not None and send is not None and send.open:
                log[token] = Send(send.at, max(send.at, self._slot_clock()), False)

    def block(self, account: str, bucket: str, seconds: float) -> None:
        with self._lock:
            until = self._slot_clock() + seconds
            self._blocked[(account, bucket)] = max(self._blocked.get((account, bucket), until), until)

    def used(self, account: str, bucket: str, seconds: float) -> int:
        with self._lock:
            since = self._slot_clock() - seconds
            return sum(1 for send in self._logs.get((account, bucket), {}).values() if send.at > since)

    def cache_get(self, key: str) -> CacheEntry | None:
        with self._lock:
            item = self._cache.get(key)
            if item is None:
                return None
            if item[0] <= self._clock():
                del self._cache[key]
                return None
            entry = decode_entry(item[1])
            if entry is None:
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
            return entry

    def cache_put(self, key: str, value: Any, ttl: float, keep: float) -> None:
        now = self._clock()
        text = encode_entry(value, now, now + ttl)
        with self._lock:
            self._cache[key] = (now + ttl + keep, text)
            self._cache.move_to_end(key)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)

    def corrupt(self, key: str, text: str) -> None:
        """Overwrite an entry's stored text (tests of the corrupt-entry rule)."""
        with self._lock:
            keep_until, _ = self._cache[key]
            self._cache[key] = (keep_until, text)

    def cache_clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def lead(self, key: str, lease: float) -> bool:
        with self._lock:
            now = self._clock()
            if self._flights.get(key, 0.0) > now:
                return False
            self._flights[key] = now + lease
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._flights.pop(key, None)

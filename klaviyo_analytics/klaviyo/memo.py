"""A memo of finished tool results, so a repeated read costs a lookup, not a re-computation.

A warm call used to redo everything but the network: a store read and a JSON decode per
upstream document, then the handler's joins, sums and output-model validation (the cleaning of
every name included). For a read-only call whose every upstream read came from the cache, the
result is a pure function of its validated arguments, the day, and those cache entries; so
``run_tool`` keeps it here until the first of those entries expires.

What may be memoized is decided while the handler runs (:func:`recording`): the client notes
each read it answers (:func:`note_read`, with the entry's expiry) and anything that makes the
answer depend on more than the cache (:func:`note_uncacheable`: a write, an uncached read, a stale
answer, the ledger). A result with a warning about the quota, a pending size or a partial
answer is never kept: the next call must try again.

Kept values are the handler's frozen output models; ``run_tool`` builds a new envelope (and a
new dict) from them on every call, so a reader that mutates what it got cannot change the memo.
The memo is per process and bounded; it never outlives the shared cache entries it was built
from, so processes sharing a quota store still agree (each at most until the entry's expiry,
as with the cache itself). Clearing the cache clears it too.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from klaviyo_analytics.clock import SYSTEM_CLOCK

DEFAULT_MAX_ENTRIES = 512


@dataclass
class Reads:
    """What the running call read: the earliest expiry, and whether all of it was cacheable."""

    expires_at: float = math.inf
    count: int = 0
    cacheable: bool = True

    @property
    def memoizable(self) -> bool:
        return self.cacheable and self.count > 0 and math.isfinite(self.expires_at)


_current: ContextVar[Reads | None] = ContextVar("klaviyo_memo_reads", default=None)


@contextmanager
def recording() -> Iterator[Reads]:
    reads = Reads()
    token = _current.set(reads)
    try:
        yield reads
    finally:
        _current.reset(token)


def note_read(expires_at: float) -> None:
    reads = _current.get()
    if reads is not None:
        reads.count += 1
        reads.expires_at = min(reads.expires_at, expires_at)


def note_uncacheable() -> None:
    reads = _current.get()
    if reads is not None:
        reads.cacheable = False


@dataclass(frozen=True)
class Memoized:
    """A finished handler result and what ``run_tool`` adds to it on every call."""

    result: Any  # the handler's ToolResult (frozen output models inside)
    notes: tuple[str, ...]
    # (account, bucket, limit) of every report the call read, to restate metadata.quota freshly.
    reports: tuple[tuple[str, str, Any], ...]
    expires_at: float
    reads: int  # upstream reads it stands for: each repeat counts them as cache hits


class ResultMemo:
    def __init__(self, clock: Callable[[], float] = SYSTEM_CLOCK.time, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._clock = clock
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[Any, Memoized] = OrderedDict()

    def get(self, key: Any) -> Memoized | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires_at <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: Any, entry: Memoized) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

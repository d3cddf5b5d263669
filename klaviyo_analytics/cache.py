"""A bounded, thread-safe TTL + LRU cache of successful Klaviyo reads.

Keys are built by the client from account + method + path + params + body, so accounts
never share entries. Values are deep-copied in and out, so a caller that mutates a result
cannot corrupt the cache. Only successful responses are ever stored.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_MAX_ENTRIES = 2048


def cache_key(account: str, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> str:
    return json.dumps(
        [account, method.upper(), path, sorted((params or {}).items()), body],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


class TTLCache:
    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self._clock():
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            value = entry[1]
        return copy.deepcopy(value)

    def contains(self, key: str) -> bool:
        """Whether ``get`` would hit, without copying the value or counting a hit or a miss."""
        with self._lock:
            entry = self._entries.get(key)
            return entry is not None and entry[0] > self._clock()

    def put(self, key: str, value: Any, ttl: float) -> None:
        if ttl <= 0:
            return
        stored = copy.deepcopy(value)
        with self._lock:
            self._entries[key] = (self._clock() + ttl, stored)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

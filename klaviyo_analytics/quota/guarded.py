"""A shared store that fails safe: degraded mode when it stops answering at run time.

When the shared store raises :class:`StoreUnavailable`, this process switches, for the rest of
its life, to an in-process store whose every window is ``fallback_processes`` times as long:
if at most that many processes fall back together, all of them still stay inside each limit,
and a single process never exceeds it. It does not switch back by itself, because slots it
handed out meanwhile are unknown to the shared store (switching back could over-send); a
restart rejoins the shared store. ``/health`` and every tool result's warnings say so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from klaviyo_analytics.logs import get_logger
from klaviyo_analytics.quota.base import CacheEntry, QuotaStore, Reservation, StoreUnavailable, Window
from klaviyo_analytics.quota.memory import MemoryStore

log = get_logger("klaviyo_analytics.quota")

DEGRADED_WARNING = (
    "the shared quota store (KLAVIYO_MCP_QUOTA_STORE) stopped answering; this process now paces alone at a "
    "conservative share of Klaviyo's limits, and its cache is not shared until it restarts"
)


class GuardedStore:
    def __init__(self, primary: QuotaStore, fallback_processes: int, clock: Callable[[], float] = time.time) -> None:
        self.primary = primary
        self.backend = primary.backend
        self.fallback_processes = max(1, fallback_processes)
        self._fallback = MemoryStore(clock)
        self._lock = threading.Lock()
        self.degraded_reason: str | None = None

    @property
    def degraded(self) -> bool:
        return self.degraded_reason is not None

    def degrade(self, exc: StoreUnavailable) -> None:
        with self._lock:
            if self.degraded_reason is None:
                self.degraded_reason = str(exc)
                log.warning("quota.degraded", backend=self.backend, reason=str(exc))

    def _use(self, name: str, *args: Any) -> Any:
        if self.degraded_reason is None:
            try:
                return getattr(self.primary, name)(*args)
            except StoreUnavailable as exc:
                self.degrade(exc)
        return getattr(self._fallback, name)(*args)

    def ping(self) -> None:
        self.primary.ping()

    def reserve(self, account: str, bucket: str, windows: Sequence[Window], max_wait: float) -> Reservation:
        if self.degraded_reason is None:
            try:
                return self.primary.reserve(account, bucket, windows, max_wait)
            except StoreUnavailable as exc:
                self.degrade(exc)
        stretched = [Window(w.name, w.seconds * self.fallback_processes, w.limit) for w in windows]
        return self._fallback.reserve(account, bucket, stretched, max_wait)

    def block(self, account: str, bucket: str, seconds: float) -> None:
        self._use("block", account, bucket, seconds)

    def used(self, account: str, bucket: str, seconds: float) -> int:
        return int(self._use("used", account, bucket, seconds))

    def cache_get(self, key: str) -> CacheEntry | None:
        entry: CacheEntry | None = self._use("cache_get", key)
        return entry

    def cache_put(self, key: str, value: Any, ttl: float, keep: float) -> None:
        self._use("cache_put", key, value, ttl, keep)

    def cache_clear(self) -> None:
        self._use("cache_clear")

    def lead(self, key: str, lease: float) -> bool:
        return bool(self._use("lead", key, lease))

    def release(self, key: str) -> None:
        self._use("release", key)

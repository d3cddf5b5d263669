"""A shared store that fails safe: Klaviyo calls *pause* while it does not answer.

When the shared store raises :class:`StoreUnavailable`, this process stops handing out slots:
every call that would need one is refused at once with ``RATE_LIMITED`` (binding limit
``quota_store``, a retry hint), while the cache keeps answering from this process's memory
(every cache write also goes there). Every ``PROBE_SECONDS`` one caller tries the shared store
again; the first answer ends the pause, and the process rejoins the shared log.

Why pause rather than pace alone at a share of the limits (the earlier design): processes that
cannot see each other cannot keep a *per-window* count, whatever margin each applies. Stretching
each process's windows by ``k`` divides its rate, not the number of requests that can coincide:
``k`` processes that each send once land in one burst window as easily as one process does (an
attack saw 12 processes send 5–12 ms apart into one 1 s window, 22 429s in 42 s), and several of
Klaviyo's limits are 1 per second. Only the shared log keeps them apart, so without it no
process sends. Pausing also makes rejoining safe: slots handed out while the store was away
would be unknown to it, but there are none. ``/health`` reports the pause (``quota`` component)
and every tool answer served meanwhile carries :data:`DEGRADED_WARNING`.
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

# How often a paused process asks the shared store again (one caller at a time).
PROBE_SECONDS = 2.0
# The binding limit a refusal names while paused (klaviyo_analytics.klaviyo.pacing.STORE_DOWN).
STORE_DOWN = "quota_store"

DEGRADED_WARNING = (
    "the shared quota store (KLAVIYO_MCP_QUOTA_STORE) is not answering: new Klaviyo requests are paused until it "
    "answers again, so that processes sharing the account cannot overrun its rate limits together; "
    "answers come from this process's cache meanwhile"
)


class GuardedStore:
    def __init__(
        self,
        primary: QuotaStore,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        probe_seconds: float = PROBE_SECONDS,
    ) -> None:
        self.primary = primary
        self.backend = primary.backend
        self.probe_seconds = probe_seconds
        self._monotonic = monotonic
        self._local = MemoryStore(clock)  # a copy of this process's cache writes; single-flight while paused
        self._lock = threading.Lock()
        self._probing = threading.Lock()
        self._next_probe = 0.0
        self.degraded_reason: str | None = None

    @property
    def degraded(self) -> bool:
        return self.degraded_reason is not None

    def degrade(self, exc: StoreUnavailable) -> None:
        with self._lock:
            if self.degraded_reason is None:
                self.degraded_reason = str(exc)
                self._next_probe = self._monotonic() + self.probe_seconds
                log.warning("quota.paused", backend=self.backend, reason=str(exc))

    def _recover(self) -> None:
        with self._lock:
            if self.degraded_reason is not None:
                self.degraded_reason = None
                log.warning("quota.resumed", backend=self.backend)

    def _probe_due(self) -> bool:
        """True for the one caller whose turn it is to try the shared store again."""
        if not self._probing.acquire(blocking=False):
            return False
        with self._lock:
            due = self._monotonic() >= self._next_probe
            if due:
                self._next_probe = self._monotonic() + self.probe_seconds
        if not due:
            self._probing.release()
        return due

    def probe(self) -> bool:
        """Ask the shared store now (``/health`` does, when paused); True if it answers."""
        try:
            self.primary.ping()
        except StoreUnavailable as exc:
            self.degrade(exc)
            return False
        self._recover()
        return True

    def _use(self, name: str, *args: Any) -> Any:
        if self.degraded_reason is None:
            try:
                return getattr(self.primary, name)(*args)
            except StoreUnavailable as exc:
                self.degrade(exc)
        return getattr(self._local, name)(*args)

    def ping(self) -> None:
        self.primary.ping()

    def reserve(
        self,
        account: str,
        bucket: str,
        windows: Sequence[Window],
        max_wait: float,
        flight: float = 0.0,
        waiter: str = "",
    ) -> Reservation:
        if self.degraded_reason is None:
            try:
                return self.primary.reserve(account, bucket, windows, max_wait, flight, waiter)
            except StoreUnavailable as exc:
                self.degrade(exc)
        elif self._probe_due():
            try:
                reservation = self.primary.reserve(account, bucket, windows, max_wait, flight, waiter)
            except StoreUnavailable:
                pass  # still away: the next probe is already scheduled
            else:
                self._recover()
                return reservation
            finally:
                self._probing.release()
        with self._lock:
            retry = max(0.0, self._next_probe - self._monotonic())
        return Reservation(False, max(retry, 0.001), STORE_DOWN)

    def finish(self, account: str, bucket: str, token: str) -> None:
        # While paused no slot is handed out; a send whose finish cannot be written expires in the
        # store after its flight bound and then counts as answered at that expiry.
        if self.degraded_reason is None:
            try:
                self.primary.finish(account, bucket, token)
            except StoreUnavailable as exc:
                self.degrade(exc)

    def block(self, account: str, bucket: str, seconds: float) -> None:
        self._use("block", account, bucket, seconds)

    def used(self, account: str, bucket: str, seconds: float) -> int:
        """Raises StoreUnavailable while paused: the count lives in the store, and a guess would mislead."""
        if self.degraded_reason is not None:
            raise StoreUnavailable(self.degraded_reason)
        try:
            return int(self.primary.used(account, bucket, seconds))
        except StoreUnavailable as exc:
            self.degrade(exc)
            raise

    def cache_get(self, key: str) -> CacheEntry | None:
        entry: CacheEntry | None = self._use("cache_get", key)
        return entry

    def cache_put(self, key: str, value: Any, ttl: float, keep: float) -> None:
        # Written through to this process's (bounded) memory too, so a pause can still answer
        # what this process fetched before the store went away.
        self._local.cache_put(key, value, ttl, keep)
        self._use("cache_put", key, value, ttl, keep)

    def cache_clear(self) -> None:
        self._use("cache_clear")

    def lead(self, key: str, lease: float) -> bool:
        return bool(self._use("lead", key, lease))

    def release(self, key: str) -> None:
        self._use("release", key)

"""The quota store's one interface, and the sliding-window rule every implementation applies.

A store holds, per account and rate-limit bucket, the log of slots handed out (send times) and
a Retry-After block; and, per cache key, a JSON value with its expiry. Every process that talks
to one Klaviyo account shares one store, so pacing and caching hold for all of them together.

The window rule (today's pacer guarantee, now across processes): a new slot is the earliest
time at or after now, after the last slot handed out and after any block, such that for every
window ``(seconds, limit)`` the slot is at least ``seconds`` after the ``limit``-th most recent
slot. No interval of a window's length then ever holds more than ``limit`` slots.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

LIMIT_NAMES = ("burst", "steady", "daily")
# Reported as the binding limit when Klaviyo's own Retry-After holds the bucket.
BLOCKED = "retry_after"


class StoreUnavailable(Exception):
    """The store could not be reached or written (message safe to log, never holds a secret)."""


@dataclass(frozen=True)
class Window:
    name: str  # burst | steady | daily
    seconds: float  # already scaled and stretched by the pacer's margin
    limit: int


@dataclass(frozen=True)
class Reservation:
    granted: bool
    wait: float  # seconds from now until the slot (granted) or until one would be free (refused)
    limit: str  # the window that set the slot: burst | steady | daily | retry_after | "" (none)
    at: float = 0.0  # the slot on the store's clock (Redis's own for redis://)


@dataclass(frozen=True)
class CacheEntry:
    value: Any
    fetched_at: float  # wall-clock seconds
    expires_at: float

    def fresh(self, now: float) -> bool:
        return now < self.expires_at


class QuotaStore(Protocol):
    backend: str  # memory | sqlite | redis

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers and accepts writes."""

    def reserve(self, account: str, bucket: str, windows: Sequence[Window], max_wait: float) -> Reservation:
        """Atomically take the next slot if it is at most ``max_wait`` away; a negative max_wait only peeks."""

    def unreserve(self, account: str, bucket: str, at: float) -> None:
        """Give back a slot that was never used (``Reservation.at``): a late caller that will not send.

        Safe at any time: every later slot was placed after it, and a new slot is never placed
        before the last one handed out, so removing it only frees the quota it would have spent."""

    def block(self, account: str, bucket: str, seconds: float) -> None:
        """Hold the bucket for every process until ``seconds`` from now (never shortens a block)."""

    def used(self, account: str, bucket: str, seconds: float) -> int:
        """Slots handed out in the last ``seconds`` (e.g. the daily window)."""

    def cache_get(self, key: str) -> CacheEntry | None:
        """The entry, fresh or kept as stale; a corrupt entry is deleted and reads as None."""

    def cache_put(self, key: str, value: Any, ttl: float, keep: float) -> None:
        """Store a JSON value fresh for ``ttl`` seconds, then kept ``keep`` more seconds as stale."""

    def cache_clear(self) -> None: ...

    def lead(self, key: str, lease: float) -> bool:
        """Become the one caller fetching ``key`` (for at most ``lease`` seconds); False if another is."""

    def release(self, key: str) -> None: ...


def earliest(log: Sequence[float], windows: Sequence[Window], now: float, blocked_until: float) -> tuple[float, str]:
    """The window rule over a sorted slot log: the slot time and the window that set it."""
    slot, limit = now, ""
    if log and log[-1] > slot:
        slot = log[-1]
    if blocked_until > slot:
        slot, limit = blocked_until, BLOCKED
    for window in windows:
        if len(log) >= window.limit:
            candidate = log[-window.limit] + window.seconds
            if candidate > slot:
                slot, limit = candidate, window.name
    return slot, limit


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def decode_entry(raw: str | bytes | None) -> CacheEntry | None:
    """``[fetched_at, expires_at, value]`` as written by :func:`encode_entry`; None when corrupt."""
    if raw is None:
        return None
    try:
        fetched_at, expires_at, value = json.loads(raw)
        return CacheEntry(value, float(fetched_at), float(expires_at))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def encode_entry(value: Any, fetched_at: float, expires_at: float) -> str:
    return encode([fetched_at, expires_at, value])

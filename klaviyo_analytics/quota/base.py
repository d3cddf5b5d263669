"""The quota store's one interface, and the sliding-window rule every implementation applies.

A store holds, per account and rate-limit bucket, the log of slots handed out (send times) and
a Retry-After block; and, per cache key, a JSON value with its expiry. Every process that talks
to one Klaviyo account shares one store, so pacing and caching hold for all of them together.

The window rule: every slot handed out is a *send* in the log, with the time its answer came
back (``finish``). A send reserved with ``flight > 0`` is *in flight* until the caller finishes
it, or until ``flight`` seconds after its slot (a process that died mid-request), when it counts
as answered at that expiry; one reserved with ``flight = 0`` counts as answered at its slot (a
caller that never reports back, as the pure slot-spacing rule had it). A new slot is the
earliest time at or after now, after the last slot handed out and after any block, such that for
every window ``(seconds, limit)`` it is at least ``seconds`` after the ``limit``-th latest
*answer* among the earlier sends. If that answer is still in flight the slot cannot be placed
yet: the refusal is ``pending`` and its wait a lower bound (the answer comes no earlier than now).

Waiters queue: a caller with a ``waiter`` id whose slot is pending is kept in the bucket's queue
(first ask first) while it keeps asking; a slot then goes to the oldest live waiter, never to
whoever happens to ask first after an answer (the caller that just got its own answer would win
every time). A waiter that stops asking drops out ``WAITER_GRACE_SECONDS`` after the wait it was
told; a refusal removes it at once. The queue decides order only, never spacing.

Why answers: Klaviyo counts a request when it arrives, somewhere between our send and our
receipt of its answer. Among any ``limit + 1`` sends, the last one (by slot) started at least
``seconds`` after the answer, hence after the arrival, of one of the others; no scheduling delay
on either side can bring their arrivals closer than ``seconds``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

LIMIT_NAMES = ("burst", "steady", "daily")
# Reported as the binding limit when Klaviyo's own Retry-After holds the bucket.
BLOCKED = "retry_after"
# How long past its told wait a pending caller keeps its place in the queue without asking again.
WAITER_GRACE_SECONDS = 1.0


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
    token: str = ""  # names the send for finish() (granted only)
    pending: bool = False  # refused because an earlier send's answer is still awaited: ask again


@dataclass(frozen=True)
class Send:
    at: float  # the slot
    end: float  # when its answer came back; while in flight, when it expires
    open: bool  # still in flight (until ``end``)


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

    def reserve(
        self,
        account: str,
        bucket: str,
        windows: Sequence[Window],
        max_wait: float,
        flight: float = 0.0,
        waiter: str = "",
    ) -> Reservation:
        """Atomically take the next slot if it is at most ``max_wait`` away; a negative max_wait only peeks.

        With ``flight > 0`` the send stays in flight until :meth:`finish` (or ``flight`` seconds
        after its slot); later slots are spaced from its answer. With a ``waiter`` id (the same on
        every ask of one caller) the caller queues for pending slots, first ask first."""

    def finish(self, account: str, bucket: str, token: str) -> None:
        """The send's answer (or error, or timeout) came back: it counts as answered now (store's clock)."""

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


def earliest(
    log: Sequence[Send], windows: Sequence[Window], now: float, blocked_until: float, ahead: int = 0
) -> tuple[float, str, bool]:
    """The window rule over the sends kept: the slot, the window that set it, and whether it is pending.

    A pending slot is a lower bound (an in-flight answer counted as coming back now). ``ahead``
    waiters queued before the caller take their slots first: each counts as a send in flight at
    its own earliest slot, so a caller far back in the queue learns at once that its wait is long.
    """
    sends = list(log)
    for _ in range(ahead):
        slot, _, _ = _rule(sends, windows, now, blocked_until)
        sends.append(Send(slot, math.inf, True))
    slot, limit, pending = _rule(sends, windows, now, blocked_until)
    return slot, limit, pending or ahead > 0


def _rule(log: Sequence[Send], windows: Sequence[Window], now: float, blocked_until: float) -> tuple[float, str, bool]:
    slot, limit, pending = now, "", False
    last = max((send.at for send in log), default=now)
    if last > slot:
        slot = last
    if blocked_until > slot:
        slot, limit = blocked_until, BLOCKED
    # In flight: its answer is unknown but no earlier than now (or its slot, if that is later).
    answers = sorted((max(send.at, now), True) if send.open and send.end > now else (send.end, False) for send in log)
    for window in windows:
        if len(answers) >= window.limit:
            cut = len(answers) - window.limit  # answers[cut] is the limit-th latest
            candidate = answers[cut][0] + window.seconds
            # Exact only if every send still in flight is among the limit - 1 latest: any other
            # could yet answer later and become the limit-th latest.
            waiting = any(flying for _, flying in answers[: cut + 1])
            if candidate > slot or (waiting and not pending):
                slot, limit = max(slot, candidate), window.name
            pending = pending or waiting
    return slot, limit, pending


def queue_turn(waiters: dict[str, tuple[float, float]], waiter: str, now: float) -> tuple[int, float, list[str]]:
    """How many live waiters are ahead of ``waiter``; its first-ask time; the lapsed waiters.

    ``waiters`` maps id -> (first ask, keep until)."""
    lapsed = [other for other, (_, until) in waiters.items() if until <= now]
    mine = waiters.get(waiter)
    since = mine[0] if mine is not None and mine[1] > now else now
    ahead = sum(
        1
        for other, (first, until) in waiters.items()
        if until > now and other != waiter and (first, other) < (since, waiter)
    )
    return ahead, since, lapsed


def expired(send: Send, now: float, longest: float) -> bool:
    """A send no window can still see: answered (or expired) at least the longest window ago."""
    return send.end <= now - longest


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

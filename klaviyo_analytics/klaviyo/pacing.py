"""Client-side pacing at Klaviyo's published rate limits, for every process sharing a store.

Klaviyo counts requests in fixed 1 s / 1 min / 1 day windows per account whose boundaries the
client cannot see. A token bucket can admit up to twice its steady rate inside one such window
(a full bucket plus a window's refill), so the pacer keeps a *sliding* log instead: no interval
of a window's length ever holds more slots than the limit, which implies no fixed window does
either, wherever its boundaries fall. The log lives in the quota store
(:mod:`klaviyo_analytics.quota`): a slot is taken atomically there and waited for here, so threads
and processes sharing one store never overshoot together. A slot that cannot start inside the
caller's deadline is not taken: the caller gets ``RATE_LIMITED`` with the wait and the limit
that binds.

Why no scheduling delay can draw a 429: spacing from answers
-------------------------------------------------------------
The store spaces *sends*; Klaviyo counts *arrivals*, and an arrival lies somewhere between our
send starting and our receipt of its answer. So the log records every send *in flight* when its
slot is handed out, and the client marks it answered (:meth:`Pacer.finish`, on the store's clock)
when the response, an error or a timeout comes back. For a window of ``W`` seconds and limit
``L``, a slot ``j`` is placed at least ``W`` after the ``L``-th latest *answer* among the earlier
sends (:func:`klaviyo_analytics.quota.base.earliest`); if that answer has not come back yet, the
caller polls (``POLL_FIRST_SECONDS`` doubling to ``POLL_MAX_SECONDS``, never past its deadline),
queued in the store first ask first, so the process that just got its answer cannot take every
next slot.
Since ``arrival_i <= answer_i`` and ``arrival_j >= start_j >= slot_j``, among any ``L + 1``
sends the last one arrives at least ``W`` after one of the others: no interval of length ``W``
ever holds more than ``L`` arrivals, however late a process wakes, however long the loopback,
the internet or Klaviyo's own queue holds the request. Lateness only delays a send, never brings
it closer to another, so the old check "send within 25 ms of the slot, else retake" is gone.

What it costs: for a window with ``L = 1`` (a report's burst, 1 per second) a send waits for the
previous answer, so one account's throughput there is ``1 / (latency + W)`` instead of ``1 / W``
(with Klaviyo's ~0.3–2 s report latency: 0.4–0.8 report calls per second instead of 1 — the
steady limit, 2 per minute, binds long before). For large ``L`` (a daily 225, a steady 60) a send
waits only if ``L`` sends are in flight at once, so nearly nothing. The spacing is also from a
later point than the slot, which Klaviyo's fixed windows never required; that is the price of a
guarantee that assumes nothing about the scheduler.

A process that dies mid-request never finishes its send: the send expires ``flight_seconds``
after its slot (the client's request timeout + ``FLIGHT_MARGIN_SECONDS``: a live request has
arrived by then) and counts as answered at that expiry; until then it holds its window.

Margins: ``WINDOW_MARGIN`` (2 %) covers the rate difference between our clocks and Klaviyo's.
``WINDOW_SLACK_SECONDS`` covers only what separates the clocks of the processes sharing a store,
which is nothing by construction: slots and answers are read from one clock (Redis's ``TIME``;
the machine's wall clock for every process on one SQLite file; one process's monotonic clock in
memory). What is left is the store's rounding (Redis keeps microseconds) and timer resolution,
hence 1 ms. An NTP *step* of the wall clock under the SQLite store is not covered by any slack
(NTP slews, which the 2 % covers); Redis's clock is the one that matters across hosts.

Time: the pacer reads one :class:`~klaviyo_analytics.clock.Clock`. Every local wait is on
``monotonic()``; the store turns its windows (on its own clock: wall time
for SQLite and Redis, monotonic for the in-process store) into a *duration* before the pacer
sees it. Wall and monotonic readings are never compared, so a step of the wall clock (NTP, a
faked clock) cannot make the pacer's own wait end early; for the in-process store it changes
nothing at all.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from klaviyo_analytics.clock import SYSTEM_CLOCK, Clock
from klaviyo_analytics.errors import RateLimitedError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.endpoints import RateLimit
from klaviyo_analytics.quota import BLOCKED, MemoryStore, QuotaStore, StoreUnavailable, Window
from klaviyo_analytics.quota.guarded import PROBE_SECONDS, STORE_DOWN
from klaviyo_analytics.quota.reserve import Share, current_share

# A proportional margin for the drift between our clock and Klaviyo's window clock.
WINDOW_MARGIN = 1.02
# Slots and answers come from one clock per store: only its rounding and timer resolution remain.
WINDOW_SLACK_SECONDS = 0.001
DAY_SECONDS = 86400.0
# A send whose process died counts as answered this long after its request timeout.
FLIGHT_MARGIN_SECONDS = 5.0
DEFAULT_FLIGHT_SECONDS = 30.0 + FLIGHT_MARGIN_SECONDS
# How often a caller whose slot depends on an answer still in flight asks again.
POLL_FIRST_SECONDS = 0.002
POLL_MAX_SECONDS = 0.02
# A slot is only worth taking if the request itself still fits in the deadline after the wait
# (a slot at the deadline's last instant would spend quota on a request that then times out).
REQUEST_MARGIN_SECONDS = 1.0
REQUEST_MARGIN_SHARE = 0.1
_SPANS = {"burst": "second", "steady": "minute", "daily": "day"}


@dataclass(frozen=True)
class Permit:
    """A slot the caller holds: send right after :meth:`Pacer.acquire`, then :meth:`Pacer.finish` it."""

    account: str
    bucket: str
    token: str
    waited: float


class _LegacyClock(Clock):
    """A bare ``() -> seconds`` clock and a sleep (as older tests pass them) seen as a Clock."""

    def __init__(self, read: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._read, self._sleep = read, sleep

    def time(self) -> float:
        return self._read()

    def monotonic(self) -> float:
        return self._read()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)


class Pacer:
    def __init__(
        self,
        time_scale: float = 1.0,
        clock: Clock | Callable[[], float] = SYSTEM_CLOCK,
        sleep: Callable[[float], None] | None = None,
        store: QuotaStore | None = None,
        flight_seconds: float = DEFAULT_FLIGHT_SECONDS,
    ) -> None:
        if not isinstance(clock, Clock):
            clock = _LegacyClock(clock, sleep or SYSTEM_CLOCK.sleep)
        elif sleep is not None:
            clock = _LegacyClock(clock.monotonic, sleep)
        self._scale = time_scale
        self.clock = clock
        self.flight_seconds = flight_seconds
        # In one process the windows need no wall time at all: the monotonic clock cannot step.
        self.store: QuotaStore = store if store is not None else MemoryStore(clock.time, monotonic=clock.monotonic)
        self.total_wait_seconds = 0.0
        self.polls = 0  # asks that found the slot depending on an answer still in flight

    def windows(self, limit: RateLimit) -> list[Window]:
        windows = [("burst", 1.0, limit.burst), ("steady", 60.0, limit.steady)]
        if limit.daily is not None:
            windows.append(("daily", DAY_SECONDS, limit.daily))
        return [
            Window(name, seconds * self._scale * WINDOW_MARGIN + WINDOW_SLACK_SECONDS, count)
            for name, seconds, count in windows
        ]

    def wait_estimate(self, account: str, bucket: str, limit: RateLimit) -> float:
        return self.store.reserve(account, bucket, self.windows(limit), -1.0).wait

    def acquire(self, account: str, bucket: str, limit: RateLimit, deadline: Deadline, what: str) -> Permit:
        """Wait for a slot; the caller sends right after and calls :meth:`finish` when the answer is in.

        Raises RATE_LIMITED when no slot can start inside the deadline (never waits past it).
        """
        margin = min(REQUEST_MARGIN_SECONDS, REQUEST_MARGIN_SHARE * deadline.budget)
        clock = self.clock
        started = clock.monotonic()
        poll = POLL_FIRST_SECONDS
        waiter = uuid.uuid4().hex  # this caller's place in the bucket's queue while its slot is pending
        windows = self.windows(limit)
        share = current_share()
        if share is not None and limit.daily is not None:
            try:
                windows = self._within_share(share, account, bucket, limit.daily, windows)
            except StoreUnavailable:  # the day's count lives in the store: without it, no share is known
                raise rate_limited(what, limit, STORE_DOWN, PROBE_SECONDS, deadline.budget) from None
        while True:
            # A slot free now is always taken: a refusal then always means the quota, never the clock.
            max_wait = max(0.0, deadline.remaining() - margin)
            reservation = self.store.reserve(account, bucket, windows, max_wait, self.flight_seconds, waiter)
            if reservation.granted:
                break
            if share is not None and limit.daily is not None and reservation.limit == "daily":
                raise share.refuse(account, bucket, limit.daily, None)
            if not reservation.pending:
                raise rate_limited(what, limit, reservation.limit, reservation.wait, deadline.budget)
            # An earlier send's answer sets the slot; it is at least reservation.wait away.
            self.polls += 1
            clock.sleep(min(max(poll, reservation.wait), max_wait))
            poll = min(poll * 2, POLL_MAX_SECONDS)
        # Sleep from *after* the answer: never before the slot (lateness is harmless, see above).
        clock.sleep(reservation.wait)
        waited = clock.monotonic() - started
        self.total_wait_seconds += waited
        return Permit(account, bucket, reservation.token, waited)

    def _within_share(self, share: Share, account: str, bucket: str, daily: int, windows: list[Window]) -> list[Window]:
        """The windows with the daily one narrowed to the caller's share (quota/reserve.py); refused
        at once, without waiting for the day to free a slot, when the share is already used."""
        allowed = share.allowed(daily)
        used = self.store.used(account, bucket, windows[-1].seconds)
        if used >= allowed:
            raise share.refuse(account, bucket, daily, used)
        return [*windows[:-1], replace(windows[-1], limit=allowed)]

    def finish(self, permit: Permit) -> None:
        """The permit's request is over (answered, failed or timed out): later slots space from now."""
        self.store.finish(permit.account, permit.bucket, permit.token)

    def block(self, account: str, bucket: str, seconds: float) -> None:
        """Klaviyo said 429: hold every caller of this bucket, in every process, until Retry-After."""
        self.store.block(account, bucket, seconds)

    def remaining_today(self, account: str, bucket: str, limit: RateLimit) -> int | None:
        """Calls left in the sliding daily window (None for an endpoint without a daily limit)."""
        if limit.daily is None:
            return None
        daily = self.windows(limit)[-1]
        try:
            return max(0, limit.daily - self.store.used(account, bucket, daily.seconds))
        except StoreUnavailable:
            return None  # the count lives in the shared store; the answer says it is paused


def rate_limited(what: str, limit: RateLimit, binding: str, wait: float, budget: float) -> RateLimitedError:
    seconds = max(1, math.ceil(wait))
    if binding == STORE_DOWN:
        return RateLimitedError(
            f"{what} is paused: the shared quota store (KLAVIYO_MCP_QUOTA_STORE) is not answering, and without it "
            f"processes cannot keep Klaviyo's limits together; try again in about {seconds} s (cached "
            "answers are still served)",
            retry_after_seconds=seconds,
            limit=STORE_DOWN,
        )
    name = binding if binding in _SPANS else ("steady" if binding == BLOCKED else "burst")
    count = {"burst": limit.burst, "steady": limit.steady, "daily": limit.daily}[name]
    why = (
        "Klaviyo asked this account to wait (Retry-After)"
        if binding == BLOCKED
        else f"this account has used Klaviyo's {name} limit ({count} per {_SPANS[name]}, shared by every "
        "key and process of the account)"
    )
    return RateLimitedError(
        f"{what} cannot start within the {budget:g} s tool deadline: {why}; try again in about {seconds} s "
        "(repeated calls resume from cached results)",
        retry_after_seconds=seconds,
        limit=name if binding != BLOCKED else BLOCKED,
    )

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

Why a late process never sends into the next caller's slot
----------------------------------------------------------
The store spaces *slots*; Klaviyo counts *arrivals*. If every request of a window's ``limit``
neighbours arrives within ``d`` of its slot, arrivals are at least ``window - d`` apart where
slots are ``window`` apart. So the pacer stretches every window by ``WINDOW_SLACK_SECONDS`` and
keeps ``d`` below it, whatever the scheduler does:

1. *A slot is honoured only if the send starts within* ``SEND_BOUND_SECONDS`` *of it.* The bound
   is checked as the very last step before the request goes out, on the monotonic clock, against
   the earliest instant the slot can be: ``t0 + wait``, where ``t0`` is read *before* asking the
   store (the store reads its own clock after ``t0``, so the slot is never earlier; a round trip
   the scheduler stretched therefore counts as lateness, not as time spent waiting). A sleep that
   woke late, a process preempted between the store and the check, a slow store: each shows up
   as lateness, and a late slot is given back and a fresh one taken — as often as the deadline
   allows, never "send anyway". Giving it back is safe (every later slot was placed after it,
   and a new slot never goes before the last one handed out) and keeps a busy machine's late
   wake-ups from spending the quota (a report's steady limit is 2 per minute).
2. *What happens after the check is covered by the spacing.* Between the check and Klaviyo
   stamping the request lie a few lines of httpx, the loopback or internet path, and the server's
   own scheduling (for the sandbox: a thread of a busy Python process waiting for the GIL). The
   slack is ``SEND_BOUND_SECONDS`` plus ``ARRIVAL_JITTER_SECONDS``, measured: with two CPU-bound
   processes beside 4 and 12 product processes on a loaded 2-core machine, the sandbox stamped
   requests up to 63 and 103 ms after they reached it (their slots were honoured within 25 ms),
   and the old 25 ms slack drew 429s 36–48 ms after the previous call (RELIABILITY.md). The slack
   is fixed, not scaled with the windows: at Klaviyo's 1 s burst window it costs ~13 % of burst
   throughput (a steady or daily limit binds the scarce endpoints first); tests that shrink the
   windows (``KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE``) still get the full margin. A host whose run queue makes a
   server stamp requests more than ~125 ms late can still see 429s; they are retried after
   Retry-After, which every process then honours through the store.

Time: the pacer reads one :class:`~klaviyo_analytics.clock.Clock`. Every local wait and every
lateness check is on ``monotonic()``; the store turns its windows (on its own clock: wall time
for SQLite and Redis, monotonic for the in-process store) into a *duration* before the pacer
sees it. Wall and monotonic readings are never compared, so a step of the wall clock (NTP, a
faked clock) can neither make the pacer think it is late nor make it send early; for the
in-process store it changes nothing at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from klaviyo_analytics.clock import SYSTEM_CLOCK, Clock
from klaviyo_analytics.errors import RateLimitedError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.endpoints import RateLimit
from klaviyo_analytics.quota import BLOCKED, MemoryStore, QuotaStore, StoreUnavailable, Window
from klaviyo_analytics.quota.guarded import STORE_DOWN

# A proportional margin for the drift between our clock and Klaviyo's window clock.
WINDOW_MARGIN = 1.02
# The longest a send may start after its slot (checked just before the send; later: retake).
SEND_BOUND_SECONDS = 0.025
# The delay between that check and Klaviyo stamping the request that the spacing must absorb.
ARRIVAL_JITTER_SECONDS = 0.125
WINDOW_SLACK_SECONDS = SEND_BOUND_SECONDS + ARRIVAL_JITTER_SECONDS
DAY_SECONDS = 86400.0
# The binding "limit" when every slot up to the deadline started late (a saturated machine).
LATE = "late"
# A slot is only worth taking if the request itself still fits in the deadline after the wait
# (a slot at the deadline's last instant would spend quota on a request that then times out).
REQUEST_MARGIN_SECONDS = 1.0
REQUEST_MARGIN_SHARE = 0.1
_SPANS = {"burst": "second", "steady": "minute", "daily": "day"}


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
    ) -> None:
        if not isinstance(clock, Clock):
            clock = _LegacyClock(clock, sleep or SYSTEM_CLOCK.sleep)
        elif sleep is not None:
            clock = _LegacyClock(clock.monotonic, sleep)
        self._scale = time_scale
        self.clock = clock
        # In one process the windows need no wall time at all: the monotonic clock cannot step.
        self.store: QuotaStore = store if store is not None else MemoryStore(clock.time, monotonic=clock.monotonic)
        self.total_wait_seconds = 0.0
        self.late_retakes = 0

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

    def acquire(self, account: str, bucket: str, limit: RateLimit, deadline: Deadline, what: str) -> float:
        """Wait for a slot and return the seconds waited; the caller sends right after.

        Returns only when the send starts within SEND_BOUND_SECONDS of a slot it holds; raises
        RATE_LIMITED when no slot can start inside the deadline (never waits past it).
        """
        margin = min(REQUEST_MARGIN_SECONDS, REQUEST_MARGIN_SHARE * deadline.budget)
        clock = self.clock
        started = clock.monotonic()
        while True:
            # A slot free now is always taken: a refusal then always means the quota, never the clock.
            max_wait = max(0.0, deadline.remaining() - margin)
            asked = clock.monotonic()
            reservation = self.store.reserve(account, bucket, self.windows(limit), max_wait)
            if not reservation.granted:
                raise rate_limited(what, limit, reservation.limit, reservation.wait, deadline.budget)
            # Sleep from *after* the answer (never early); judge lateness from *before* the ask.
            clock.sleep(reservation.wait)
            if clock.monotonic() - (asked + max(0.0, reservation.wait)) <= SEND_BOUND_SECONDS:
                break
            self.late_retakes += 1
            self.store.unreserve(account, bucket, reservation.at)  # never used: give its quota back
            if deadline.remaining() <= margin:  # late every time: refuse rather than send late
                raise rate_limited(what, limit, LATE, SEND_BOUND_SECONDS, deadline.budget)
        waited = clock.monotonic() - started
        self.total_wait_seconds += waited
        return waited

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
    if binding == LATE:
        return RateLimitedError(
            f"{what} could not start within the {budget:g} s tool deadline: this machine was too busy to send "
            f"on time inside Klaviyo's burst limit ({limit.burst} per second), and a late request would be "
            f"throttled; try again in about {seconds} s",
            retry_after_seconds=seconds,
            limit="burst",
        )
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

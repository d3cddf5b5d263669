"""Client-side pacing at Klaviyo's published rate limits, for every process sharing a store.

Klaviyo counts requests in fixed 1 s / 1 min / 1 day windows per account whose boundaries the
client cannot see. A token bucket can admit up to twice its steady rate inside one such window
(a full bucket plus a window's refill), so the pacer keeps a *sliding* log instead: no interval
of a window's length ever holds more calls than the limit, which implies no fixed window does
either, wherever its boundaries fall. Windows are stretched by a small margin for network
jitter. The log lives in the quota store (:mod:`klaviyo_analytics.quota`): a slot is taken
atomically there and waited for here, so threads and processes sharing one store never
overshoot together. A slot that cannot start inside the caller's deadline is not taken: the
caller gets ``RATE_LIMITED`` with the wait and the limit that binds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from klaviyo_analytics.errors import RateLimitedError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.endpoints import RateLimit
from klaviyo_analytics.quota import BLOCKED, MemoryStore, QuotaStore, Window

# Requests sent at the edge of a window may land in the next one server-side, and vice versa:
# a proportional margin for clock drift, and a fixed one for scheduling and network jitter
# (which does not shrink when the sandbox scales its windows down).
WINDOW_MARGIN = 1.02
# 25 ms: consecutive requests of one account reached the sandbox up to ~12 ms closer together than
# their slots on a loaded 2-core machine (scheduling between slot and socket); the internet to
# Klaviyo jitters at least as much. At Klaviyo's 1 s burst window it costs 2.5 % of throughput.
WINDOW_SLACK_SECONDS = 0.025
DAY_SECONDS = 86400.0
# A slot is only worth taking if the request itself still fits in the deadline after the wait
# (a slot at the deadline's last instant would spend quota on a request that then times out).
REQUEST_MARGIN_SECONDS = 1.0
REQUEST_MARGIN_SHARE = 0.1
# A sleep that overran its slot by more than the slack would send closer to the next caller's
# slot than the window allows (a loaded machine oversleeps by tens of ms): take a fresh slot.
MAX_LATE_RETAKES = 3
_SPANS = {"burst": "second", "steady": "minute", "daily": "day"}


class Pacer:
    def __init__(
        self,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        store: QuotaStore | None = None,
    ) -> None:
        self._scale = time_scale
        self._clock = clock
        self._sleep = sleep
        self.store: QuotaStore = store if store is not None else MemoryStore(clock)
        self.total_wait_seconds = 0.0

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
        """Wait for a slot; return the seconds waited. Never waits past the deadline."""
        margin = min(REQUEST_MARGIN_SECONDS, REQUEST_MARGIN_SHARE * deadline.budget)
        waited = 0.0
        for _ in range(1 + MAX_LATE_RETAKES):
            # A slot free now is always taken: a refusal then always means the quota, never the clock.
            max_wait = max(0.0, deadline.remaining() - margin)
            reservation = self.store.reserve(account, bucket, self.windows(limit), max_wait)
            if not reservation.granted:
                raise rate_limited(what, limit, reservation.limit, reservation.wait, deadline.budget)
            if reservation.wait <= 0:
                break
            slot = self._clock() + reservation.wait
            self._sleep(reservation.wait)
            waited += reservation.wait
            # The abandoned slot stays in the log: it only ever makes later callers wait longer.
            if self._clock() - slot <= WINDOW_SLACK_SECONDS:
                break
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
        return max(0, limit.daily - self.store.used(account, bucket, daily.seconds))


def rate_limited(what: str, limit: RateLimit, binding: str, wait: float, budget: float) -> RateLimitedError:
    name = binding if binding in _SPANS else ("steady" if binding == BLOCKED else "burst")
    count = {"burst": limit.burst, "steady": limit.steady, "daily": limit.daily}[name]
    why = (
        "Klaviyo asked this account to wait (Retry-After)"
        if binding == BLOCKED
        else f"this account has used Klaviyo's {name} limit ({count} per {_SPANS[name]}, shared by every "
        "key and process of the account)"
    )
    seconds = max(1, math.ceil(wait))
    return RateLimitedError(
        f"{what} cannot start within the {budget:g} s tool deadline: {why}; try again in about {seconds} s "
        "(repeated calls resume from cached results)",
        retry_after_seconds=seconds,
        limit=name if binding != BLOCKED else BLOCKED,
    )

"""Client-side pacing at Klaviyo's published rate limits.

Klaviyo counts requests in fixed 1 s / 1 min / 1 day windows whose boundaries the client
cannot see. A token bucket can admit up to twice its steady rate inside one such window
(a full bucket plus a window's refill), so the pacer keeps a *sliding* log instead: no
interval of a window's length ever holds more calls than the limit, which implies no fixed
window does either, wherever its boundaries fall. Windows are stretched by a small margin
for network jitter. Slots are handed out in FIFO order under a lock and waited for outside
it, so threads sharing one client (several tools at once) never overshoot together.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from klaviyo_analytics.deadline import Deadline
from klaviyo_analytics.endpoints import RateLimit

# Requests sent at the edge of a window may land in the next one server-side, and vice versa:
# a proportional margin for clock drift, and a fixed one for scheduling and network jitter
# (which does not shrink when the sandbox scales its windows down).
WINDOW_MARGIN = 1.02
WINDOW_SLACK_SECONDS = 0.01


class Pacer:
    def __init__(
        self,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._scale = time_scale
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._logs: dict[tuple[str, str], deque[float]] = {}
        self._blocked_until: dict[tuple[str, str], float] = {}
        self.total_wait_seconds = 0.0

    def _windows(self, limit: RateLimit) -> list[tuple[float, int]]:
        windows = [(1.0, limit.burst), (60.0, limit.steady)]
        if limit.daily is not None:
            windows.append((86400.0, limit.daily))
        return [(seconds * self._scale * WINDOW_MARGIN + WINDOW_SLACK_SECONDS, count) for seconds, count in windows]

    def _earliest(self, key: tuple[str, str], limit: RateLimit, now: float) -> float:
        log = self._logs.get(key, deque())
        slot = max(now, log[-1] if log else now, self._blocked_until.get(key, now))
        for window, count in self._windows(limit):
            if len(log) >= count:
                slot = max(slot, log[-count] + window)
        return slot

    def wait_estimate(self, account: str, bucket: str, limit: RateLimit) -> float:
        with self._lock:
            now = self._clock()
            return self._earliest((account, bucket), limit, now) - now

    def acquire(self, account: str, bucket: str, limit: RateLimit, deadline: Deadline, what: str) -> float:
        """Wait for a slot; return the seconds waited. Never waits past the deadline."""
        key = (account, bucket)
        with self._lock:
            now = self._clock()
            slot = self._earliest(key, limit, now)
            wait = slot - now
            if not deadline.allows(wait):
                raise deadline.exceeded(what, wait_hint=wait)
            log = self._logs.setdefault(key, deque())
            log.append(slot)
            longest = max(window for window, _ in self._windows(limit))
            while log and log[0] <= slot - longest:
                log.popleft()
        if wait > 0:
            self._sleep(wait)
            self.total_wait_seconds += wait
        return max(wait, 0.0)

    def block(self, account: str, bucket: str, seconds: float) -> None:
        """Klaviyo said 429: hold every caller of this bucket until Retry-After has passed."""
        key = (account, bucket)
        with self._lock:
            until = self._clock() + seconds
            self._blocked_until[key] = max(self._blocked_until.get(key, until), until)

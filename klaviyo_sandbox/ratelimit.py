"""Klaviyo's published rate limits, enforced per account (all its keys together) with fixed windows.

Every operation has a burst (1 s), a steady (60 s) and sometimes a daily window, taken from its
``x-klaviyo-ratelimit`` (via spec_extract.json). A window opens with the first request after the
previous one closed and lasts its length times ``time_scale``; a request is refused when any of
its windows is full, and a refused request does not count. The answer to a refused request
carries Retry-After: the seconds until the exceeded window (the latest, if several) closes, in
whole unscaled seconds (``format_seconds``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from klaviyo_analytics.clock import SYSTEM_CLOCK


@dataclass(frozen=True)
class Limit:
    limit: int
    window: float  # seconds at time_scale 1


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds; 0 when allowed
    limit: int  # the steady window's limit, for the RateLimit-* headers
    remaining: int
    reset: float  # seconds until the steady window closes


class RateLimiter:
    def __init__(self, time_scale: float = 1.0, clock: Callable[[], float] | None = None) -> None:
        self.time_scale = time_scale
        self._clock = clock or SYSTEM_CLOCK.monotonic
        self._windows: dict[tuple[str, str, str], list[float]] = {}  # key -> [start, count]
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def check(self, key: str, bucket: str, limits: Mapping[str, Limit]) -> Decision:
        """Count one request of ``key`` against ``bucket``'s windows, or refuse it."""
        now = self._clock()
        with self._lock:
            states: list[tuple[str, Limit, list[float], float]] = []
            waits: list[float] = []
            for name, lim in limits.items():
                length = lim.window * self.time_scale
                state = self._windows.get((key, bucket, name))
                if state is None or now >= state[0] + length:
                    state = [now, 0.0]
                    self._windows[(key, bucket, name)] = state
                states.append((name, lim, state, length))
                if state[1] >= lim.limit:
                    waits.append(state[0] + length - now)
            if not waits:
                for _, _, state, _ in states:
                    state[1] += 1
            steady = next((s for s in states if s[0] == "steady"), states[0])
            _, lim, state, length = steady
            return Decision(
                allowed=not waits,
                retry_after=max(waits, default=0.0),
                limit=lim.limit,
                remaining=max(0, lim.limit - int(state[1])),
                reset=max(0.0, state[0] + length - now),
            )


def format_seconds(seconds: float, time_scale: float) -> str:
    """``seconds`` of scaled (real) time as whole Klaviyo seconds: divided by ``time_scale``, rounded
    up, at least 1. Always an integer, as Klaviyo sends it (its SDK parses Retry-After with ``int()``);
    a client that knows the scale (the product's KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE) multiplies it back."""
    return str(max(1, math.ceil(seconds / time_scale - 1e-9)))

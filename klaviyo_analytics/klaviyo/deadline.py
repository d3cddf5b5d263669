"""A wall-clock budget for one tool call.

Claude Desktop abandons a tool call after about 60 s, so every call carries a deadline
(``KLAVIYO_MCP_TOOL_DEADLINE_SECONDS``, 45 s by default) and nothing waits, sleeps or retries past it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from klaviyo_analytics.clock import SYSTEM_CLOCK
from klaviyo_analytics.errors import DeadlineExceededError


class Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float] = SYSTEM_CLOCK.monotonic) -> None:
        self._clock = clock
        self.budget = seconds
        self.expires_at = clock() + seconds

    @classmethod
    def unlimited(cls) -> Deadline:
        return cls(math.inf)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self._clock())

    def allows(self, seconds: float) -> bool:
        """Whether waiting ``seconds`` more still ends before the deadline."""
        return seconds <= self.remaining()

    def check(self, what: str, wait_hint: float | None = None) -> None:
        if self.remaining() <= 0:
            raise self.exceeded(what, wait_hint)

    def exceeded(self, what: str, wait_hint: float | None = None) -> DeadlineExceededError:
        hint = f"; try again in about {math.ceil(wait_hint)} s" if wait_hint else "; try again shortly"
        return DeadlineExceededError(
            f"{what} would run past the {self.budget:g} s tool deadline{hint} "
            "(repeated calls resume from cached results)",
            retry_after_seconds=math.ceil(wait_hint) if wait_hint else None,
        )

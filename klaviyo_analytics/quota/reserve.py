"""A share of each daily report limit that a background caller may use, the rest kept for people.

``python -m klaviyo_analytics warm`` fills the cache before anyone asks; it must never spend the
calls people's questions will need later the same day. Inside :func:`spending_at_most` the pacer
treats each daily limit (Klaviyo's 225 report calls a day, per report endpoint and account) as
``floor(share × limit)``: a slot is handed out only while the calls of the last day, *everyone's*,
stay below that. The narrowed window is applied by the store's own atomic slot rule, so neither
people's questions nor a second warmer running at once can push the day past it; the remaining
``limit − floor(share × limit)`` calls are left to people whatever else ran.

The share is held in a context variable (like the quota tally), so it binds the calls of the one
caller that asked for it, never a concurrent tool call in the same process.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from klaviyo_analytics.errors import RateLimitedError


@dataclass
class Share:
    share: float  # of each daily limit, counting every caller's calls of the day
    # (account, bucket) pairs whose share ran out: the caller stops there.
    exhausted: set[tuple[str, str]] = field(default_factory=set)

    def allowed(self, daily: int) -> int:
        """The day's calls (everyone's) under which this caller may still take a slot."""
        return math.floor(self.share * daily + 1e-9)  # 0.3 × 225 is 67.5: 67, never a rounding up

    def refuse(self, account: str, bucket: str, daily: int, used: int | None) -> RateLimitedError:
        """The refusal of a slot past the share (``used``: the day's count, when it was read)."""
        self.exhausted.add((account, bucket))
        allowed = self.allowed(daily)
        seen = f"{used} of the day's {daily} {bucket} calls are used" if used is not None else "its share is used"
        return RateLimitedError(
            f"stopped before {bucket} for account {account!r}: {seen}, and warming may only use the first "
            f"{allowed} (KLAVIYO_MCP_WARM_BUDGET_SHARE={self.share:g}); the other {daily - allowed} are kept for "
            "people's questions",
            limit="warm_budget",
            account=account,
            bucket=bucket,
        )


_current: ContextVar[Share | None] = ContextVar("klaviyo_quota_share", default=None)


@contextmanager
def spending_at_most(share: float) -> Iterator[Share]:
    """Calls made inside take a report slot only while the day's count stays under ``share`` of the limit."""
    current = Share(share)
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)


def current_share() -> Share | None:
    return _current.get()

"""What one tool call did to the quota, gathered while it runs and added to its metadata.

The client notes every report request (sent or answered from the cache) and every stale answer
into the tally of the current call (a context variable, so concurrent calls never mix);
``run_tool`` opens the tally and turns it into ``metadata.quota``, ``metadata.fetched_at`` and
warnings, the same way for every adapter.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from klaviyo_analytics.klaviyo.endpoints import RateLimit


class _Budget(Protocol):
    def remaining_today(self, account: str, bucket: str, limit: RateLimit) -> int | None: ...


@dataclass
class Tally:
    # (account, bucket) -> [limit, calls sent]
    reports: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    stale_fetched_at: list[float] = field(default_factory=list)
    # When the newest stale answer was served, on the cache's clock (as fetched_at is).
    stale_seen_at: float = 0.0
    degraded: bool = False

    def metadata(self, pacer: _Budget, warn_share: float) -> tuple[dict[str, Any], list[str]]:
        extra: dict[str, Any] = {}
        warnings: list[str] = []
        if self.reports:
            per_report: dict[str, int] = {}
            for (account, bucket), (limit, sent) in sorted(self.reports.items()):
                left = pacer.remaining_today(account, bucket, limit)
                if left is None:
                    continue
                per_report[bucket] = left
                before = left + sent
                if sent and before and sent > warn_share * before:
                    warnings.append(
                        f"this answer spent {sent} of the {before} {bucket} calls Klaviyo still allowed this "
                        f"account today ({left} left, shared by every user of the account)"
                    )
            if per_report:
                daily = max(int(limit.daily or 0) for limit, _ in self.reports.values())
                extra["quota"] = {
                    "reports_remaining_today": min(per_report.values()),
                    "daily_report_limit": daily,
                    "remaining_by_report": per_report,
                }
        if self.stale_fetched_at:
            oldest = min(self.stale_fetched_at)
            extra["fetched_at"] = datetime.fromtimestamp(oldest, UTC).isoformat(timespec="seconds")
            minutes = max(1, math.ceil((self.stale_seen_at - oldest) / 60))
            warnings.append(
                f"Klaviyo's rate limit is used up for now, so this answer comes from a cached report "
                f"fetched about {minutes} min ago (metadata.fetched_at); ask again later for fresh figures"
            )
        if self.degraded:
            from klaviyo_analytics.quota.guarded import DEGRADED_WARNING

            warnings.append(DEGRADED_WARNING)
        return extra, warnings


_current: ContextVar[Tally | None] = ContextVar("klaviyo_quota_tally", default=None)


@contextmanager
def tally() -> Iterator[Tally]:
    current = Tally()
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)


def note_report(account: str, bucket: str, limit: RateLimit, sent: bool) -> None:
    current = _current.get()
    if current is not None:
        entry = current.reports.setdefault((account, bucket), [limit, 0])
        entry[1] += 1 if sent else 0


def note_stale(fetched_at: float, served_at: float) -> None:
    """A cached answer past its TTL was served (both times on the cache's clock)."""
    current = _current.get()
    if current is not None:
        current.stale_fetched_at.append(fetched_at)
        current.stale_seen_at = max(current.stale_seen_at, served_at)


def note_degraded() -> None:
    current = _current.get()
    if current is not None:
        current.degraded = True

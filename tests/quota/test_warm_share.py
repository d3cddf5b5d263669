"""The pacer under a warm share: report slots only while the day's calls (everyone's) stay under the
share of the daily limit, enforced by the store's own slot rule; other callers keep the rest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from klaviyo_analytics.clock import ManualClock
from klaviyo_analytics.errors import RateLimitedError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.endpoints import REPORT, S
from klaviyo_analytics.klaviyo.pacing import Pacer
from klaviyo_analytics.quota import MemoryStore
from klaviyo_analytics.quota.reserve import spending_at_most

BUCKET = "query_campaign_values"


def pacer() -> tuple[Pacer, ManualClock]:
    clock = ManualClock(datetime(2026, 12, 7, 12, tzinfo=UTC))
    return Pacer(clock=clock, store=MemoryStore(clock.time, monotonic=clock.monotonic)), clock


def take(pacer: Pacer, clock: ManualClock, bucket: str = BUCKET) -> None:
    pacer.finish(
        pacer.acquire("acme", bucket, REPORT if bucket == BUCKET else S, Deadline(600, clock.monotonic), "report")
    )
    clock.advance(31)  # past the steady window (2 a minute): only the daily count can refuse


def test_a_share_stops_at_its_part_of_the_day_and_leaves_the_rest() -> None:
    pace, clock = pacer()
    take(pace, clock)  # a person's call counts against the share too
    with spending_at_most(0.02) as share:  # floor(0.02 x 225) = 4
        for _ in range(3):
            take(pace, clock)
        with pytest.raises(RateLimitedError) as refused:
            take(pace, clock)
        take(pace, clock, bucket="get_flows")  # no daily limit: untouched by the share
    assert refused.value.details["limit"] == "warm_budget" and "221 are kept" in refused.value.message
    assert share.exhausted == {("acme", BUCKET)}
    assert pace.remaining_today("acme", BUCKET, REPORT) == 225 - 4
    take(pace, clock)  # outside the share, the reserve is there for people


class StaleCount(MemoryStore):
    """A day's count read before another process's sends landed: the pre-check passes, the slot rule must not."""

    def used(self, account: str, bucket: str, seconds: float) -> int:
        return 0


def test_the_share_is_enforced_by_the_stores_slot_rule_not_only_by_the_count() -> None:
    clock = ManualClock(datetime(2026, 12, 7, 12, tzinfo=UTC))
    pace = Pacer(clock=clock, store=StaleCount(clock.time, monotonic=clock.monotonic))
    with spending_at_most(0.02) as share:
        for _ in range(4):
            take(pace, clock)
        with pytest.raises(RateLimitedError):
            take(pace, clock)
    assert share.exhausted == {("acme", BUCKET)}


def test_a_zero_share_takes_nothing() -> None:
    pace, clock = pacer()
    with spending_at_most(0.0), pytest.raises(RateLimitedError):
        take(pace, clock)
    assert pace.remaining_today("acme", BUCKET, REPORT) == 225

"""List growth: system-metric event counts per channel, per list, and merged with sizes."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from klaviyo_analytics.schemas.lists import (
    ListBreakdownParams,
    ListGrowthByListParams,
    ListGrowthParams,
)
from klaviyo_analytics.service.lists import get_list_breakdown, get_list_growth, get_list_growth_by_list
from tests.helpers import FakeClock
from tests.lists.conftest import Event, EventKlaviyo, World, event_world

MARCH = {"start_date": date(2026, 3, 1), "end_date": date(2026, 3, 10)}
LISTS = {"L1": ("Newsletter", 900), "L2": ("VIP", 120), "L3": ("Quiet", 40), "L4": ("Twin", 5), "L5": ("Twin", 7)}


def at(day: int, hour: int = 12, month: int = 3, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour)


def sub(day: int, name: str | None = None, **kw: int) -> Event:
    return Event("Subscribed to List", at(day, **kw), name)


def unsub(day: int, name: str | None = None, **kw: int) -> Event:
    return Event("Unsubscribed from List", at(day, **kw), name)


EVENTS = [
    sub(1, "Newsletter"), sub(2, "Newsletter"), sub(3, "Newsletter"), unsub(4, "Newsletter"),
    sub(5, "VIP"), sub(10, "VIP", hour=23),
    sub(11, "VIP", hour=0),  # the day after the window: not counted
    sub(28, "Newsletter", month=2),  # the day before: not counted
    sub(6, "Deleted list"), unsub(7, "Deleted list"),
    sub(8, "Twin"),
    Event("Subscribed to Email Marketing", at(2)), Event("Subscribed to Email Marketing", at(9)),
    Event("Unsubscribed from Email Marketing", at(3)),
    Event("Subscribed to SMS Marketing", at(4)),
]  # fmt: skip


@pytest.fixture
def fake() -> EventKlaviyo:
    return EventKlaviyo(events=list(EVENTS), lists=dict(LISTS))


def test_channel_growth_counts_the_events_in_the_window(tmp_path: Path, clock: FakeClock, fake: EventKlaviyo) -> None:
    world = event_world(tmp_path, clock, fake)
    result = get_list_growth(world.svc, ListGrowthParams(**MARCH), world.ctx())
    growth = result.data.growth
    assert growth.list.model_dump() == {"subscribed": 7, "unsubscribed": 2, "net": 5}
    assert growth.email.model_dump() == {"subscribed": 2, "unsubscribed": 1, "net": 1}
    assert growth.sms.model_dump() == {"subscribed": 1, "unsubscribed": 0, "net": 1}
    aggregates = world.recorder.to("/api/metric-aggregates", "POST")
    assert len(aggregates) == 6
    attributes = aggregates[0].body["data"]["attributes"]
    assert attributes["measurements"] == ["count"]
    assert "greater-or-equal(datetime,2026-03-01T00:00:00)" in attributes["filter"]
    assert "less-than(datetime,2026-03-11T00:00:00)" in attributes["filter"]
    assert result.period is not None and result.period.days == 10
    assert any("not deduplicated" in w for w in result.warnings)


@pytest.mark.parametrize("how", ["missing", "failing"])
def test_a_missing_or_failing_metric_is_a_null_side_with_a_warning(
    tmp_path: Path, clock: FakeClock, fake: EventKlaviyo, how: str
) -> None:
    if how == "missing":
        fake.metrics = tuple(m for m in fake.metrics if m != "Unsubscribed from SMS Marketing")
    else:
        fake.failing_metrics.add("Unsubscribed from SMS Marketing")
    world = event_world(tmp_path, clock, fake)
    result = get_list_growth(world.svc, ListGrowthParams(**MARCH), world.ctx())
    assert result.data.growth.sms.model_dump() == {"subscribed": 1, "unsubscribed": None, "net": None}
    assert result.data.growth.email.net == 1
    assert any("Unsubscribed from SMS Marketing" in w for w in result.warnings)


def test_a_window_over_a_year_is_chunked_and_summed(tmp_path: Path, clock: FakeClock, fake: EventKlaviyo) -> None:
    fake.events += [sub(15, "VIP", month=6, year=2024), sub(20, "VIP", month=1, year=2025)]
    world = event_world(tmp_path, clock, fake)
    params = ListGrowthParams(start_date=date(2024, 3, 11), end_date=date(2026, 3, 10))
    result = get_list_growth(world.svc, params, world.ctx())
    assert result.data.growth.list.subscribed == 7 + 1 + 2  # February's event is inside this window
    assert len(world.recorder.to("/api/metric-aggregates", "POST")) == 12  # 6 metrics x 2 chunks
    assert any("2 chunks" in w for w in result.warnings)


def test_growth_by_list_joins_names_to_ids(tmp_path: Path, clock: FakeClock, fake: EventKlaviyo) -> None:
    world = event_world(tmp_path, clock, fake)
    result = get_list_growth_by_list(world.svc, ListGrowthByListParams(**MARCH), world.ctx())
    rows = {r.name: r for r in result.data.lists}
    assert set(rows) == {"Newsletter", "VIP", "Deleted list", "Twin"}  # only lists with activity
    assert rows["Newsletter"].model_dump() == {
        "list_id": "L1", "name": "Newsletter", "subscribed": 3, "unsubscribed": 1, "net": 2,
    }  # fmt: skip
    assert (rows["VIP"].list_id, rows["VIP"].subscribed, rows["VIP"].unsubscribed) == ("L2", 2, 0)
    assert rows["Deleted list"].list_id is None and rows["Deleted list"].net == 0
    assert rows["Twin"].list_id is None  # two lists share the name
    assert result.data.totals.model_dump() == {"subscribed": 7, "unsubscribed": 2, "net": 5}
    assert result.data.list_count == 4
    by_list = [c.body["data"]["attributes"] for c in world.recorder.to("/api/metric-aggregates", "POST")]
    assert [a["by"] for a in by_list] == [["List"], ["List"]]
    assert any("keyed by Klaviyo's list name" in w for w in result.warnings)
    assert any("'Twin'" in w for w in result.warnings)
    assert any("match no current list" in w for w in result.warnings)


def test_breakdown_has_every_list_with_size_and_growth(tmp_path: Path, clock: FakeClock, fake: EventKlaviyo) -> None:
    world = event_world(tmp_path, clock, fake)
    result = get_list_breakdown(world.svc, ListBreakdownParams(**MARCH), world.ctx())
    rows = {r.list_id: r for r in result.data.lists}
    assert set(rows) == set(LISTS)
    assert rows["L1"].model_dump() == {
        "list_id": "L1", "name": "Newsletter", "opt_in_process": None, "profile_count": 900,
        "subscribed": 3, "unsubscribed": 1, "net": 2,
    }  # fmt: skip
    assert (rows["L3"].subscribed, rows["L3"].net) == (0, 0)  # no activity is 0, not missing
    assert rows["L4"].subscribed is None and rows["L5"].subscribed is None  # a shared name is not attributable
    assert rows["L4"].profile_count == 5
    assert result.data.totals.model_dump() == {"profile_count": 1072, "subscribed": 5, "unsubscribed": 1, "net": 4}
    assert result.data.pending == [] and result.extra_metadata["partial"] is False
    assert any("belong to no current list" in w for w in result.warnings)
    # MCP progress must only go forward: one step per list, never restarting between phases.
    assert [(done, total) for done, total, _ in world.progress] == [(i, 5) for i in range(1, 6)]


def test_breakdown_keeps_growth_when_sizes_run_out_of_time(
    tmp_path: Path, clock: FakeClock, fake: EventKlaviyo
) -> None:
    fake.lists = {f"L{i:02d}": (f"List {i}", i) for i in range(30)}
    fake.events = [sub(3, f"List {i}") for i in range(30)]
    world = event_world(tmp_path, clock, fake)
    result = get_list_breakdown(world.svc, ListBreakdownParams(**MARCH), world.ctx(20))
    assert 0 < len(result.data.pending) < 30
    assert result.extra_metadata["partial"] is True
    assert all(r.subscribed == 1 for r in result.data.lists)  # growth for every row, sizes or not
    pending = set(result.data.pending)
    assert all((r.profile_count is None) == (r.list_id in pending) for r in result.data.lists)
    assert any("Call again" in w for w in result.warnings)


def test_growth_reconciles_across_the_three_tools_on_the_sandbox(world: World) -> None:
    window = {"timeframe": "last_30_days"}
    channel = get_list_growth(world.svc, ListGrowthParams(**window), world.ctx()).data.growth.list
    per_list = get_list_growth_by_list(world.svc, ListGrowthByListParams(**window), world.ctx()).data
    breakdown = get_list_breakdown(world.svc, ListBreakdownParams(**window), world.ctx(10_000)).data
    assert channel.subscribed and channel.subscribed > 0
    assert per_list.totals == channel
    assert sum(r.subscribed or 0 for r in per_list.lists) == channel.subscribed
    assert all(r.list_id is not None for r in per_list.lists)
    growth_by_id = {r.list_id: (r.subscribed, r.unsubscribed) for r in per_list.lists}
    for row in breakdown.lists:
        assert (row.subscribed, row.unsubscribed) == growth_by_id.get(row.list_id, (0, 0))
        assert row.profile_count is not None
    assert breakdown.totals.subscribed == channel.subscribed

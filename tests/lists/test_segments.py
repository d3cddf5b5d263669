"""Segments: sizes paced like list sizes; growth from segment-series reports, chunked per interval."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

import httpx
import pytest

from klaviyo_analytics.errors import InvalidArgumentError, NotFoundError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.schemas.segments import SegmentGrowthParams, SegmentsParams
from klaviyo_analytics.service.segments import get_segment_growth, get_segments
from tests.helpers import jsonapi
from tests.lists.conftest import ANCHOR, World

SERIES = "/api/segment-series-reports"
VALUES = "/api/segment-values-reports"


def window(days: int) -> dict[str, date]:
    end = ANCHOR - timedelta(days=1)
    return {"start_date": end - timedelta(days=days - 1), "end_date": end}


def report_days(world: World) -> list[int]:
    spans = []
    for call in world.recorder.to(SERIES, "POST"):
        timeframe = call.body["data"]["attributes"]["timeframe"]
        start, end = (date.fromisoformat(timeframe[k][:10]) for k in ("start", "end"))
        spans.append((end - start).days)
    return spans


def lookup_sizes(world: World) -> dict[str, int]:
    """Every segment's profile_count, looked up one by one (the figure the report must match)."""
    account = world.svc.account(None)
    sizes = {}
    for item in world.svc.client.get_all(account, "/api/segments", deadline=Deadline.unlimited()):
        params = {"additional-fields[segment]": "profile_count"}
        document = world.svc.client.get(account, f"/api/segments/{item['id']}", params, deadline=Deadline.unlimited())
        sizes[item["id"]] = document["data"]["attributes"]["profile_count"]
    return sizes


def refuse_reports(world: World, status: int = 400) -> None:
    error = {"errors": [{"code": "invalid", "detail": "no report for you"}]}
    world.recorder.answers[VALUES] = lambda _request: jsonapi(error, status=status)


def test_segment_sizes_come_from_one_values_report_matching_profile_count(world: World) -> None:
    result = get_segments(world.svc, SegmentsParams(), world.ctx(10_000))
    assert result.data.segment_count == len(result.data.segments) == 8
    assert all(r.profile_count is not None and r.is_active is not None for r in result.data.segments)
    assert result.data.pending == [] and result.extra_metadata["partial"] is False
    assert result.extra_metadata["sizes"] == {"from_report": 8, "from_lookups": 0}
    assert world.recorder.size_calls() == []
    (report,) = world.recorder.to(VALUES, "POST")
    assert report.body["data"]["attributes"] == {"statistics": ["total_members"], "timeframe": {"key": "today"}}
    assert len(world.recorder.calls) == 2  # the enumeration and the report
    fields = world.recorder.to("/api/segments")[0].params["fields[segment]"]
    assert "definition" not in fields  # the enumeration leaves the (large) definitions out
    assert {r.segment_id: r.profile_count for r in result.data.segments} == lookup_sizes(world)


def test_without_the_report_sizes_are_looked_up_at_1_per_second(world: World) -> None:
    refuse_reports(world)
    result = get_segments(world.svc, SegmentsParams(), world.ctx(10_000))
    assert result.data.pending == [] and result.extra_metadata["sizes"] == {"from_report": 0, "from_lookups": 8}
    sizes = world.recorder.size_calls()
    assert [c.params for c in sizes] == [{"additional-fields[segment]": "profile_count"}] * 8
    assert all(b.at - a.at >= 1.0 for a, b in itertools.pairwise(sizes))  # 1/s
    assert {r.segment_id: r.profile_count for r in result.data.segments} == lookup_sizes(world)


def test_segments_missing_from_the_report_or_processing_are_looked_up(world: World) -> None:
    everything = get_segments(world.svc, SegmentsParams(), world.ctx(10_000)).data.segments
    world.svc.client.cache.clear()
    world.recorder.calls.clear()
    missing, processing = everything[0].segment_id, everything[1].segment_id

    def partial_report(request: httpx.Request) -> httpx.Response:
        document = json.loads(world.recorder.inner.handle_request(request).read())
        results = document["data"]["attributes"]["results"]
        document["data"]["attributes"]["results"] = [r for r in results if r["groupings"]["segment_id"] != missing]
        return jsonapi(document)

    def listing(request: httpx.Request) -> httpx.Response:
        document = json.loads(world.recorder.inner.handle_request(request).read())
        for item in document["data"]:
            if item["id"] == processing:
                item["attributes"]["is_processing"] = True
        return jsonapi(document)

    world.recorder.answers[VALUES] = partial_report
    world.recorder.answers["/api/segments"] = listing
    result = get_segments(world.svc, SegmentsParams(), world.ctx(10_000))
    assert sorted(c.path.rsplit("/", 1)[-1] for c in world.recorder.size_calls()) == sorted([missing, processing])
    assert result.extra_metadata["sizes"] == {"from_report": 6, "from_lookups": 2}
    assert [r.profile_count for r in result.data.segments] == [r.profile_count for r in everything]


def test_a_report_slot_further_away_than_the_lookups_means_lookups(world: World) -> None:
    # Two segment-values reports this minute (2/min): the next is a minute away, 8 lookups take 7 s.
    account = world.svc.account(None)
    for key in ("yesterday", "last_7_days"):
        body = {"data": {"type": "segment-values-report", "attributes": {"statistics": ["total_members"]}}}
        body["data"]["attributes"]["timeframe"] = {"key": key}
        world.svc.client.post(account, VALUES, body, deadline=Deadline.unlimited())
    world.recorder.calls.clear()
    started = world.clock()
    result = get_segments(world.svc, SegmentsParams(), world.ctx(10_000))
    assert world.recorder.to(VALUES, "POST") == [] and len(world.recorder.size_calls()) == 8
    assert result.data.pending == [] and world.clock() - started < 30


def test_segment_sizes_stop_at_the_deadline_and_resume(world: World) -> None:
    refuse_reports(world)
    first = get_segments(world.svc, SegmentsParams(), world.ctx(5))
    assert 0 < len(first.data.pending) < 8 and first.extra_metadata["partial"] is True
    assert any("Call again" in w for w in first.warnings)
    fetched = {c.path for c in world.recorder.size_calls()}
    world.recorder.calls.clear()
    second = get_segments(world.svc, SegmentsParams(), world.ctx(10_000))
    assert second.data.pending == []
    assert not fetched & {c.path for c in world.recorder.size_calls()}


def test_one_segment_by_id_and_an_unknown_one(world: World) -> None:
    everything = get_segments(world.svc, SegmentsParams(), world.ctx(10_000)).data.segments
    one = get_segments(world.svc, SegmentsParams(segment_id=everything[2].segment_id), world.ctx(45))
    assert one.data.segments == [everything[2]]
    with pytest.raises(NotFoundError) as caught:
        get_segments(world.svc, SegmentsParams(segment_id="Nope"), world.ctx(45))
    assert caught.value.details["field"] == "segment_id"


def test_weekly_growth_one_report_consistent_with_current_sizes(world: World) -> None:
    result = get_segment_growth(world.svc, SegmentGrowthParams(**window(90)), world.ctx())
    calls = world.recorder.to(SERIES, "POST")
    assert len(calls) == 1
    attributes = calls[0].body["data"]["attributes"]
    assert attributes["statistics"] == ["members_added", "members_removed", "net_members_changed", "total_members"]
    assert attributes["interval"] == "weekly"
    assert not {"conversion_metric_id", "group_by", "filter"} & set(attributes)

    sizes = {r.segment_id: r for r in get_segments(world.svc, SegmentsParams(), world.ctx(10_000)).data.segments}
    assert result.data.segment_count == 8 and result.data.interval == "weekly"
    for row in result.data.segments:
        assert row.name == sizes[row.segment_id].name
        n = len(row.date_times)
        assert n >= 13 and all(len(v) == n for v in (row.members_added, row.members_removed, row.total_members))
        totals = row.totals
        assert (totals.added, totals.removed) == (sum(row.members_added), sum(row.members_removed))
        assert totals.net == totals.added - totals.removed
        assert totals.start_total is not None and totals.start_total + totals.net == totals.end_total
        assert totals.end_total == sizes[row.segment_id].profile_count  # the data ends where the window does


def test_daily_windows_over_60_days_are_split_and_concatenated(world: World) -> None:
    weekly = get_segment_growth(world.svc, SegmentGrowthParams(**window(100)), world.ctx())
    world.recorder.calls.clear()
    daily = get_segment_growth(world.svc, SegmentGrowthParams(**window(100), interval="daily"), world.ctx(10_000))
    assert report_days(world) == [60, 40]
    for row in daily.data.segments:
        assert len(row.date_times) == len(set(row.date_times)) == 100
        assert row.date_times == sorted(row.date_times)
    assert {r.segment_id: r.totals for r in daily.data.segments} == {
        r.segment_id: r.totals for r in weekly.data.segments
    }
    assert any("2 daily reports" in w for w in daily.warnings)


def test_monthly_windows_over_52_weeks_merge_the_split_month(world: World) -> None:
    daily_limit = window(370)
    weekly = get_segment_growth(world.svc, SegmentGrowthParams(**daily_limit), world.ctx(10_000))
    world.recorder.calls.clear()
    monthly = get_segment_growth(world.svc, SegmentGrowthParams(**daily_limit, interval="monthly"), world.ctx(10_000))
    assert report_days(world) == [364, 6]
    for row in monthly.data.segments:
        assert len(row.date_times) == len(set(row.date_times)) <= 13  # the month cut in two is one bucket
    assert {r.segment_id: r.totals for r in monthly.data.segments} == {
        r.segment_id: r.totals for r in weekly.data.segments
    }


def test_a_long_series_stops_at_the_deadline_and_the_next_call_extends_it(world: World) -> None:
    days = window(150)
    params = SegmentGrowthParams(**days, interval="daily")
    first = get_segment_growth(world.svc, params, world.ctx(45))
    assert first.extra_metadata["partial"] is True
    through = date.fromisoformat(first.extra_metadata["complete_through"])
    assert through == days["start_date"] + timedelta(days=119)  # two 60-day reports; the third must wait
    assert all(len(r.date_times) == 120 for r in first.data.segments)
    assert any("Call again" in w and "cached" in w for w in first.warnings)

    world.clock.sleep(first.extra_metadata["retry_after_seconds"])
    second = get_segment_growth(world.svc, params, world.ctx(45))
    assert second.extra_metadata["partial"] is False
    assert all(len(r.date_times) == 150 for r in second.data.segments)
    assert report_days(world) == [60, 60, 30]  # the first two came from cache the second time


def test_one_segment_is_filtered_in_the_report(world: World) -> None:
    target = get_segments(world.svc, SegmentsParams(), world.ctx(10_000)).data.segments[1]
    result = get_segment_growth(world.svc, SegmentGrowthParams(**window(30), segment_id=target.segment_id), world.ctx())
    assert [r.segment_id for r in result.data.segments] == [target.segment_id]
    # The account-wide report (shared with the all-segments question), the one segment selected here.
    body = world.recorder.to(SERIES, "POST")[0].body["data"]["attributes"]
    assert "filter" not in body


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start_date": date(2023, 5, 31), "end_date": date(2023, 6, 30)}, "start_date"),
        ({**window(500), "interval": "daily"}, "interval"),
    ],
)
def test_bad_windows_are_invalid_naming_the_field(world: World, params: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        get_segment_growth(world.svc, SegmentGrowthParams(**params), world.ctx())
    assert caught.value.details["field"] == field
    assert world.recorder.to(SERIES, "POST") == []


def test_data_starts_in_june_2023(world: World) -> None:
    params = SegmentGrowthParams(start_date=date(2023, 6, 1), end_date=date(2023, 6, 30))
    assert get_segment_growth(world.svc, params, world.ctx()).data.segment_count == 8

"""Flows, trends, comparisons and the metric query, against a scripted Klaviyo."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.errors import InvalidArgumentError, NotFoundError
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.schemas.compare import CompareParams
from klaviyo_analytics.schemas.flows import FlowPerformanceParams, FlowStructureParams, GetFlowsParams
from klaviyo_analytics.schemas.metrics import MetricQueryParams
from klaviyo_analytics.schemas.trends import OverTimeParams, SeriesRow
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.service.compare import compare_periods
from klaviyo_analytics.service.flows import get_flow_performance, get_flow_structure, get_flows
from klaviyo_analytics.service.metrics import query_metric_aggregates
from klaviyo_analytics.service.trends import get_performance_over_time, merge_series
from klaviyo_analytics.tools import validate_params
from tests.helpers import FakeKlaviyo, jsonapi, make_settings
from tests.service.test_campaign_performance import STATS_A, report, row


def ctx() -> CallContext:
    return CallContext(Deadline(45))


def service(tmp_path: Path, fake: FakeKlaviyo) -> KlaviyoService:
    settings = make_settings(tmp_path)
    client = KlaviyoClient(settings, transport=fake.transport)
    return KlaviyoService(settings, load_registry(settings), client, clock=pinned_on(date(2026, 3, 15)))


def flow_row(flow: str, message: str, channel: str, statistics: dict[str, Any]) -> dict[str, Any]:
    groupings = {"flow_id": flow, "flow_message_id": message, "send_channel": channel,
                 "flow_name": f"Flow {flow}", "flow_message_name": f"Message {message}"}  # fmt: skip
    return {"groupings": groupings, "statistics": statistics}


def test_get_flows_builds_the_filter(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("GET", "/api/flows", {"data": [{"id": "F1", "attributes": {"name": "Welcome", "status": "live"}}]})
    result = get_flows(service(tmp_path, fake), GetFlowsParams(status="live", archived=False), ctx())
    assert fake.requests[0].url.params["filter"] == "and(equals(status,'live'),equals(archived,false))"
    assert fake.requests[0].url.params["page[size]"] == "50"
    assert result.data.flows[0].name == "Welcome" and result.data.flow_count == 1


def test_flow_performance_names_from_one_report_and_rollup(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("POST", "/api/flow-values-reports", lambda r: jsonapi({"data": {"attributes": {"results": [
        flow_row("F1", "M1", "email", STATS_A), flow_row("F1", "M2", "sms", STATS_A), flow_row("F2", "M3", "email", STATS_A),
    ]}}}))  # fmt: skip
    svc = service(tmp_path, fake)
    rows = get_flow_performance(svc, FlowPerformanceParams(timeframe="last_30_days"), ctx()).data
    assert len(fake.requests) == 1  # names came with the numbers: no per-message lookups
    body = json.loads(fake.requests[0].content)["data"]["attributes"]
    assert {"flow_name", "flow_message_name"} <= set(body["group_by"])
    assert rows.flow_count == 2 and len(rows.flows) == 3
    assert {r.flow_message_name for r in rows.flows} == {"Message M1", "Message M2", "Message M3"}

    rolled = get_flow_performance(svc, FlowPerformanceParams(timeframe="last_30_days", rollup=True), ctx()).data
    by_flow = {r.flow_id: r for r in rolled.flows}
    assert by_flow["F1"].sent == 2000 and by_flow["F1"].flow_message_id is None and by_flow["F1"].flow_name == "Flow F1"
    assert by_flow["F1"].open_rate == 0.5


def test_flow_structure_uses_embedded_messages_and_falls_back(tmp_path: Path) -> None:
    actions = {"data": [
        {"id": "A1", "attributes": {"definition": {"type": "send-email", "data": {"status": "live", "message": {
            "id": "MSG1", "name": "Welcome 1", "subject_line": "Hi"}}}}},
        {"id": "A2", "attributes": {"definition": {"type": "time-delay", "data": {"unit": "days", "value": 2}}}},
        {"id": "A3", "attributes": {"definition": {"type": "send-sms", "data": {"status": "draft"}}}},
        {"id": "A4", "attributes": {"definition": {"type": "conditional-split"}}},
    ], "links": {}}  # fmt: skip
    fake = FakeKlaviyo()
    fake.route("GET", "/api/flows/F1", {"data": {"id": "F1", "attributes": {"name": "Welcome", "status": "live"}}})
    fake.route("GET", "/api/flows/F1/flow-actions", actions)
    fake.route("GET", "/api/flow-actions/A3/flow-messages", {"data": [{"id": "MSG3", "attributes": {"name": "SMS 1"}}]})
    result = get_flow_structure(service(tmp_path, fake), FlowStructureParams(flow_id="F1"), ctx()).data
    assert [s.action_type for s in result.steps] == ["send-email", "time-delay", "send-sms", "conditional-split"]
    assert result.steps[0].message_name == "Welcome 1" and result.steps[0].subject == "Hi"
    assert result.steps[2].message_id == "MSG3" and result.steps[2].channel == "sms"
    assert result.summary == {"send-email": 1, "time-delay": 1, "send-sms": 1, "conditional-split": 1}
    lookups = [r.url.path for r in fake.requests if "flow-messages" in r.url.path]
    assert lookups == ["/api/flow-actions/A3/flow-messages"]  # only the step without an embedded message


def test_flow_id_is_validated_before_it_enters_a_path() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        validate_params(FlowStructureParams, {"flow_id": "../accounts"})
    assert caught.value.field == "flow_id"


def test_merge_series_sums_a_bucket_split_across_chunks() -> None:
    a = (["d1", "d2"], [SeriesRow(groupings={"k": "x"}, statistics={"n": [1.0, 2.0]})])
    b = (["d2", "d3"], [SeriesRow(groupings={"k": "x"}, statistics={"n": [5.0, 7.0]}),
                        SeriesRow(groupings={"k": "y"}, statistics={"n": [1.0, None]})])  # fmt: skip
    dates, rows = merge_series([a, b])
    assert dates == ["d1", "d2", "d3"]
    merged = {r.groupings["k"]: r.statistics["n"] for r in rows}
    assert merged == {"x": [1.0, 7.0, 7.0], "y": [None, 1.0, None]}


def test_flow_series_is_chunked_by_the_interval_limit(tmp_path: Path) -> None:
    def series(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)["data"]["attributes"]
        start = body["timeframe"]["start"][:10]
        return jsonapi({"data": {"attributes": {"date_times": [start], "results": [
            {"groupings": {"flow_id": "F1"}, "statistics": {"recipients": [10]}}]}}})  # fmt: skip

    fake = FakeKlaviyo()
    fake.route("POST", "/api/flow-series-reports", series)
    params = OverTimeParams(entity="flow", interval="daily", start_date=date(2025, 1, 1), end_date=date(2025, 3, 31))
    result = get_performance_over_time(service(tmp_path, fake), params, ctx()).data
    assert len(fake.requests) == 2  # daily series are limited to 60 days a call
    assert result.date_times == ["2025-01-01", "2025-03-02"]
    assert result.series[0].statistics["recipients"] == [10.0, 10.0]


def test_campaign_trend_call_count_does_not_grow_with_buckets(tmp_path: Path) -> None:
    metrics = {"data": [{"id": f"M{i}", "attributes": {"name": n}} for i, n in enumerate(
        ["Received Email", "Opened Email", "Clicked Email", "Received SMS"])], "links": {}}  # fmt: skip

    def aggregates(request: httpx.Request) -> httpx.Response:
        attrs = json.loads(request.content)["data"]["attributes"]
        dates = (
            [f"2025-{m:02d}-01" for m in range(1, 13)] if attrs["interval"] == "month" else [f"w{i}" for i in range(53)]
        )
        if attrs.get("by") == ["$attributed_message"]:
            rows = [
                {"dimensions": ["CM1"], "measurements": {"count": [1] * len(dates), "sum_value": [10] * len(dates)}}
            ]
        else:
            rows = [
                {
                    "dimensions": ["CM1", "Spring", ""],
                    "measurements": {k: [2] * len(dates) for k in attrs["measurements"]},
                },
                {"dimensions": ["FM1", "", "F1"], "measurements": {k: [9] * len(dates) for k in attrs["measurements"]}},
            ]
        return jsonapi({"data": {"type": "metric-aggregate", "attributes": {"dates": dates, "data": rows}}})

    for interval in ("monthly", "weekly"):
        fake = FakeKlaviyo()
        fake.route("GET", "/api/metrics", metrics)
        fake.route("GET", "/api/accounts", {"data": [{"id": "A", "attributes": {"timezone": "US/Eastern"}}]})
        fake.route("POST", "/api/metric-aggregates", aggregates)
        params = OverTimeParams(entity="campaign", interval=interval, timeframe="last_365_days")  # type: ignore[arg-type]
        result = get_performance_over_time(service(tmp_path, fake), params, ctx())
        assert len(fake.requests) <= 7  # metrics + account + 5 aggregates, whatever the bucket count
        assert [r.url.path for r in fake.requests].count("/api/metric-aggregates") == 5
        (series,) = result.data.series  # the flow message was left out
        assert series.groupings == {"campaign_message_id": "CM1", "campaign_name": "Spring"}
        assert series.statistics["recipients"][0] == 4.0  # email + sms receives
        assert series.statistics["conversion_value"][0] == 10.0
        assert any("event time" in w for w in result.warnings)
        timezones = {json.loads(r.content)["data"]["attributes"]["timezone"] for r in fake.requests if r.content}
        assert timezones == {"US/Eastern"}


def test_trend_argument_rules(tmp_path: Path) -> None:
    svc = service(tmp_path, FakeKlaviyo())
    with pytest.raises(InvalidArgumentError) as stats_for_campaign:
        get_performance_over_time(
            svc, OverTimeParams(entity="campaign", timeframe="today", statistics=["opens"]), ctx()
        )
    assert stats_for_campaign.value.field == "statistics"
    with pytest.raises(InvalidArgumentError) as unknown_stat:
        validate_params(OverTimeParams, {"entity": "flow", "timeframe": "today", "statistics": ["vibes"]})
    assert "allowed" in unknown_stat.value.message and unknown_stat.value.field == "statistics.0"
    with pytest.raises(InvalidArgumentError) as bad_entity:
        validate_params(OverTimeParams, {"entity": "segment", "timeframe": "today"})
    assert bad_entity.value.field == "entity"


def test_compare_periods_two_report_calls_and_deltas(tmp_path: Path) -> None:
    def campaign_report(request: httpx.Request) -> httpx.Response:
        start = json.loads(request.content)["data"]["attributes"]["timeframe"]["start"]
        stats = STATS_A if start.startswith("2026-02") else {**STATS_A, "recipients": 500, "conversion_value": 0}
        return jsonapi(report([row("C1", "M1", "email", "A", stats), row("C2", "M2", "email", "B", stats)]))

    fake = FakeKlaviyo()
    fake.route("POST", "/api/campaign-values-reports", campaign_report)
    result = compare_periods(service(tmp_path, fake), CompareParams(entity="campaign", timeframe="last_30_days"), ctx())
    assert len(fake.requests) == 2
    data = result.data
    assert data.prior_period.end_date == "2026-02-12" and data.current_period.start_date == "2026-02-13"
    assert data.current_totals["sent"] == 2000 and data.prior_totals["sent"] == 1000
    assert data.deltas["sent"].absolute == 1000 and data.deltas["sent"].pct_change == 1.0
    assert data.deltas["conversion_value"].pct_change is None  # prior was 0
    assert data.current_entity_count == 2


def test_compare_explicit_prior_pair(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("POST", "/api/flow-values-reports", lambda r: jsonapi({"data": {"attributes": {"results": []}}}))
    params = CompareParams(
        entity="flow", timeframe="last_month", prior_start_date=date(2025, 2, 1), prior_end_date=date(2025, 2, 28)
    )
    result = compare_periods(service(tmp_path, fake), params, ctx())
    assert result.data.prior_period.start_date == "2025-02-01"
    with pytest.raises(InvalidArgumentError) as caught:
        compare_periods(
            service(tmp_path, fake),
            CompareParams(entity="flow", timeframe="today", prior_start_date=date(2025, 2, 1)),
            ctx(),
        )
    assert caught.value.field == "prior_end_date"


def test_metric_query_resolves_names_ranks_and_truncates(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("GET", "/api/metrics", {"data": [{"id": "PO", "attributes": {"name": "Placed Order"}}], "links": {}})
    fake.route("GET", "/api/accounts", {"data": [{"id": "A", "attributes": {"timezone": "UTC"}}]})
    rows = [{"dimensions": [f"L{i}"], "measurements": {"count": [i, i]}} for i in range(5)]
    fake.route("POST", "/api/metric-aggregates", {"data": {"attributes": {"dates": ["d1", "d2"], "data": rows}}})
    svc = service(tmp_path, fake)
    params = MetricQueryParams(metric="placed order", by=["List"], limit=2, timeframe="last_7_days")
    result = query_metric_aggregates(svc, params, ctx())
    assert result.data.metric.id == "PO"
    assert [r.dimensions["List"] for r in result.data.rows] == ["L4", "L3"]
    assert result.data.rows[0].totals["count"] == 8 and result.data.truncated and result.data.row_count == 5
    with pytest.raises(NotFoundError, match=r"details\.some_metrics") as unknown:
        query_metric_aggregates(svc, MetricQueryParams(metric="Nope", timeframe="today"), ctx())
    assert unknown.value.details["some_metrics"] == ["Placed Order"]  # account text: in details, not the message
    with pytest.raises(InvalidArgumentError) as hourly:
        query_metric_aggregates(svc, MetricQueryParams(metric="PO", interval="hourly", timeframe="last_30_days"), ctx())
    assert hourly.value.field == "interval"
    with pytest.raises(InvalidArgumentError) as too_many:
        validate_params(MetricQueryParams, {"metric": "PO", "timeframe": "today", "by": ["List", "URL", "Subject"]})
    assert too_many.value.field == "by"

"""Which window a comparison uses, and numbers as people read them, at the calendar's edges."""

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
from klaviyo_analytics.rules.comparisons import compare_window, comparison_warnings
from klaviyo_analytics.rules.timeframes import Period, bucket_spans, preset_period, resolve_period
from klaviyo_analytics.schemas.campaigns import CampaignPerformanceParams
from klaviyo_analytics.schemas.compare import CompareParams
from klaviyo_analytics.schemas.flows import FlowPerformanceParams
from klaviyo_analytics.schemas.trends import OverTimeParams
from klaviyo_analytics.service import CallContext, KlaviyoService, stats
from klaviyo_analytics.service.campaigns import get_campaign_performance
from klaviyo_analytics.service.compare import compare_periods
from klaviyo_analytics.service.flows import get_flow_performance
from klaviyo_analytics.service.trends import get_performance_over_time
from tests.helpers import FakeKlaviyo, jsonapi, make_settings
from tests.service.test_campaign_performance import STATS_A, report, row

D = date.fromisoformat


def prior_of(preset: str, today: str, compare_to: Any = "previous_period") -> tuple[str, str, str, str, str]:
    current = preset_period(preset, D(today))
    comparison = compare_window(current, preset, compare_to)
    return (str(current.start), str(current.end), str(comparison.prior.start), str(comparison.prior.end),
            comparison.rule)  # fmt: skip


@pytest.mark.parametrize(
    ("preset", "today", "expected"),
    [
        # The first of a month: month to date is one day against the first day of last month...
        (
            "this_month",
            "2026-12-01",
            ("2026-12-01", "2026-12-01", "2026-11-01", "2026-11-01", "previous_month_same_days"),
        ),
        # ...and last month is the whole of November against the whole of October (1 October included).
        (
            "last_month",
            "2026-12-01",
            ("2026-11-01", "2026-11-30", "2026-10-01", "2026-10-31", "previous_calendar_month"),
        ),
        # Month ends: 31 days of March to date meet all of February, cut at its end (leap and not).
        (
            "this_month",
            "2026-03-31",
            ("2026-03-01", "2026-03-31", "2026-02-01", "2026-02-28", "previous_month_same_days"),
        ),
        (
            "this_month",
            "2028-03-31",
            ("2028-03-01", "2028-03-31", "2028-02-01", "2028-02-29", "previous_month_same_days"),
        ),
        (
            "last_month",
            "2028-03-01",
            ("2028-02-01", "2028-02-29", "2028-01-01", "2028-01-31", "previous_calendar_month"),
        ),
        (
            "last_month",
            "2026-01-15",
            ("2025-12-01", "2025-12-31", "2025-11-01", "2025-11-30", "previous_calendar_month"),
        ),
        (
            "last_30_days",
            "2026-12-01",
            ("2026-11-01", "2026-11-30", "2026-10-02", "2026-10-31", "previous_equal_window"),
        ),
        ("today", "2026-03-01", ("2026-03-01", "2026-03-01", "2026-02-28", "2026-02-28", "previous_equal_window")),
        # Year to date on a leap day: the same span last year ends on 28 February.
        (
            "year_to_date",
            "2028-02-29",
            ("2028-01-01", "2028-02-29", "2027-01-01", "2027-02-28", "previous_year_same_days"),
        ),
    ],
)
def test_previous_period_rules(preset: str, today: str, expected: tuple[str, ...]) -> None:
    assert prior_of(preset, today) == expected


@pytest.mark.parametrize(
    ("preset", "today", "expected"),
    [
        # A whole calendar month meets the same calendar month: February 2029 vs all 29 days of February 2028.
        ("last_month", "2029-03-05", ("2029-02-01", "2029-02-28", "2028-02-01", "2028-02-29",
                                      "same_calendar_months_previous_year")),
        ("last_month", "2028-03-05", ("2028-02-01", "2028-02-29", "2027-02-01", "2027-02-28",
                                      "same_calendar_months_previous_year")),
        ("this_month", "2028-02-29", ("2028-02-01", "2028-02-29", "2027-02-01", "2027-02-28", "same_dates_previous_year")),
        ("last_7_days", "2026-12-01", ("2026-11-24", "2026-11-30", "2025-11-24", "2025-11-30", "same_dates_previous_year")),
    ],
)  # fmt: skip
def test_previous_year_rules(preset: str, today: str, expected: tuple[str, ...]) -> None:
    assert prior_of(preset, today, "previous_year") == expected


def test_explicit_whole_months_compare_with_calendar_months() -> None:
    quarter = Period(D("2026-04-01"), D("2026-06-30"))
    comparison = compare_window(quarter, None, "previous_period")
    assert (comparison.prior, comparison.rule) == (Period(D("2026-01-01"), D("2026-03-31")), "previous_calendar_months")
    odd = Period(D("2026-04-03"), D("2026-04-12"))
    assert compare_window(odd, None, "previous_period").prior == Period(D("2026-03-24"), D("2026-04-02"))


def test_warnings_name_unequal_lengths_and_an_open_window() -> None:
    current, prior = Period(D("2026-11-01"), D("2026-11-30")), Period(D("2026-10-01"), D("2026-10-31"))
    assert any("30 vs 31 days" in w for w in comparison_warnings(current, prior, D("2026-12-01")))
    today = Period(D("2026-12-01"), D("2026-12-01"))
    warnings = comparison_warnings(today, Period(D("2026-11-01"), D("2026-11-01")), D("2026-12-01"))
    assert warnings == [warnings[0]] and "includes today (2026-12-01)" in warnings[0]


def test_future_windows_are_refused() -> None:
    today = D("2026-12-01")
    with pytest.raises(InvalidArgumentError) as caught:
        resolve_period(D("2026-12-05"), D("2026-12-09"), None, today)
    assert caught.value.field == "start_date" and "future" in caught.value.message
    # Tomorrow in UTC is already today east of it: allowed.
    assert resolve_period(D("2026-12-02"), D("2026-12-02"), None, today) is not None


def test_weekly_buckets_flag_the_cut_weeks() -> None:
    period = Period(D("2026-11-01"), D("2026-11-30"))  # a Sunday to a Monday
    labels = ["2026-10-26T00:00:00+00:00", "2026-11-02T00:00:00+00:00", "2026-11-09T00:00:00+00:00",
              "2026-11-16T00:00:00+00:00", "2026-11-23T00:00:00+00:00", "2026-11-30T00:00:00+00:00"]  # fmt: skip
    spans = bucket_spans(labels, "weekly", period)
    assert [(str(s.start), str(s.end), s.partial) for s in (spans[0], spans[1], spans[-1])] == [
        ("2026-11-01", "2026-11-01", True), ("2026-11-02", "2026-11-08", False), ("2026-11-30", "2026-11-30", True)
    ]  # fmt: skip
    months = bucket_spans(["2028-02-01", "2028-03-01"], "monthly", Period(D("2028-02-01"), D("2028-03-15")))
    assert [(str(s.end), s.partial) for s in months] == [("2028-02-29", False), ("2028-03-15", True)]


def ctx() -> CallContext:
    return CallContext(Deadline(45))


def service(tmp_path: Path, fake: FakeKlaviyo, today: str = "2026-12-01") -> KlaviyoService:
    settings = make_settings(tmp_path)
    client = KlaviyoClient(settings, transport=fake.transport)
    return KlaviyoService(settings, load_registry(settings), client, clock=pinned_on(D(today)))


def campaign_reports(request: httpx.Request) -> httpx.Response:
    start = json.loads(request.content)["data"]["attributes"]["timeframe"]["start"]
    scale = 2 if start.startswith("2026-11") else 1
    email = {k: v * scale for k, v in STATS_A.items()}
    sms = {**email, "opens_unique": 7}  # a report may carry opens for SMS; the product never shows them
    return jsonapi(report([row("C1", "M1", "email", "A", email), row("C2", "M2", "sms", "B", sms)]))


def test_compare_last_month_on_the_first_names_its_rule_and_counts_are_integers(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("POST", "/api/campaign-values-reports", campaign_reports)
    result = compare_periods(service(tmp_path, fake), CompareParams(entity="campaign", timeframe="last_month"), ctx())
    data = result.data
    assert data.comparison == "previous_calendar_month"
    assert (data.prior_period.start_date, data.prior_period.end_date) == ("2026-10-01", "2026-10-31")
    windows = [json.loads(r.content)["data"]["attributes"]["timeframe"] for r in fake.requests]
    assert windows[1] == {"start": "2026-10-01T00:00:00", "end": "2026-11-01T00:00:00"}
    assert data.current_totals["sent"] == 4000 and isinstance(data.current_totals["sent"], int)
    assert data.deltas["sent"].absolute == 2000 and isinstance(data.deltas["sent"].absolute, int)
    assert '"sent":4000,' in json.dumps(data.model_dump(mode="json"), separators=(",", ":"))
    # Open rate over the email deliveries only: 980 / 1960, not over the SMS deliveries too.
    assert data.current_totals["open_rate"] == 0.5
    assert any("30 vs 31 days" in w for w in result.warnings)


def test_compare_to_and_prior_dates_are_exclusive(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    params = CompareParams(entity="flow", timeframe="last_month", compare_to="previous_year",
                           prior_start_date=D("2025-02-01"), prior_end_date=D("2025-02-28"))  # fmt: skip
    with pytest.raises(InvalidArgumentError) as caught:
        compare_periods(service(tmp_path, fake), params, ctx())
    assert caught.value.field == "compare_to"


def test_sms_rates_that_do_not_apply_are_null_with_the_reason(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("POST", "/api/campaign-values-reports", campaign_reports)
    fake.route("GET", "/api/campaigns", lambda r: jsonapi({"data": []}))
    rows = get_campaign_performance(service(tmp_path, fake), CampaignPerformanceParams(timeframe="last_month"), ctx())
    by_id = {r.campaign_id: r for r in rows.data.campaigns}
    assert by_id["C2"].open_rate is None and by_id["C2"].click_to_open_rate is None and by_id["C2"].opens == 0
    assert by_id["C2"].not_applicable == {"open_rate": "SMS has no opens", "click_to_open_rate": "SMS has no opens"}
    assert by_id["C2"].click_rate == 0.1  # clicks do apply
    assert by_id["C1"].open_rate == 0.5 and by_id["C1"].not_applicable == {}


def test_one_rounding_rule_for_every_number() -> None:
    assert stats.number("sent", 35640.0) == 35640 and isinstance(stats.number("sent", 35640.0), int)
    assert stats.number("open_rate", 0.31890179514255546) == 0.3189
    assert stats.number("conversion_value", 10.456) == 10.46


def series_report(request: httpx.Request) -> httpx.Response:
    dates = ["2026-10-26T00:00:00+00:00", "2026-11-02T00:00:00+00:00"]
    results = [
        {"groupings": {"flow_id": "F1", "send_channel": "email"},
         "statistics": {"recipients": [10.0, 20.0], "open_rate": [0.31890179514255546, 0.5]}},
        {"groupings": {"flow_id": "F1", "send_channel": "sms"},
         "statistics": {"recipients": [5.0, 6.0], "open_rate": [0.0, 0.0]}},
    ]  # fmt: skip
    return jsonapi({"data": {"attributes": {"results": results, "date_times": dates}}})


def test_series_are_rounded_nulled_and_their_cut_buckets_flagged(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("GET", "/api/metrics", lambda r: jsonapi({"data": []}))
    fake.route("POST", "/api/flow-series-reports", series_report)
    params = OverTimeParams(entity="flow", interval="weekly", start_date=D("2026-11-01"), end_date=D("2026-11-08"),
                            statistics=["recipients", "open_rate"])  # fmt: skip
    result = get_performance_over_time(service(tmp_path, fake), params, ctx())
    email, sms = result.data.series
    assert email.statistics == {"recipients": [10, 20], "open_rate": [0.3189, 0.5]}
    assert sms.statistics["open_rate"] == [None, None] and sms.not_applicable["open_rate"] == "SMS has no opens"
    first = result.data.buckets[0]
    assert (first.start_date, first.end_date, first.days, first.partial) == ("2026-11-01", "2026-11-01", 1, True)
    assert any("Partial weekly buckets" in w for w in result.warnings)


def test_unknown_ids_are_not_found_and_empty_answers_say_why(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    empty = {"data": {"attributes": {"results": []}}}
    fake.route("POST", "/api/flow-values-reports", empty)
    fake.route("POST", "/api/campaign-values-reports", empty)
    fake.route("GET", "/api/flows/F1", {"data": {"type": "flow", "id": "F1", "attributes": {"name": "Welcome"}}})
    svc = service(tmp_path, fake)
    with pytest.raises(NotFoundError) as caught:
        get_flow_performance(svc, FlowPerformanceParams(timeframe="last_month", flow="NOPE"), ctx())
    assert caught.value.details["field"] == "flow" and "NOPE" in caught.value.message
    with pytest.raises(NotFoundError):
        get_campaign_performance(svc, CampaignPerformanceParams(timeframe="last_month", campaign="NOPE"), ctx())
    with pytest.raises(NotFoundError):
        compare_periods(svc, CompareParams(entity="flow", timeframe="last_month", entity_id="NOPE"), ctx())
    quiet = get_flow_performance(svc, FlowPerformanceParams(timeframe="last_month", flow="F1"), ctx())
    assert quiet.data.flows == [] and any("F1 exists but sent nothing" in w for w in quiet.warnings)
    everything = get_campaign_performance(svc, CampaignPerformanceParams(timeframe="last_month"), ctx())
    assert any("No campaign sent anything in 2026-11-01..2026-11-30" in w for w in everything.warnings)

"""Campaign performance: one report call per chunk, names in one campaigns call, rates derived."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.schemas.campaigns import CampaignPerformanceParams
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.service.campaigns import get_campaign_performance
from tests.helpers import FakeKlaviyo, jsonapi, make_settings

STATS_A = {
    "recipients": 1000, "delivered": 980, "opens_unique": 490, "clicks_unique": 98, "bounced": 20,
    "unsubscribe_uniques": 5, "spam_complaints": 1, "conversions": 12, "conversion_uniques": 10,
    "conversion_value": 1234.5,
}  # fmt: skip
STATS_ZERO = dict.fromkeys(STATS_A, 0)


def report(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": {"type": "campaign-values-report", "attributes": {"results": results}}, "links": {"self": "x"}}


def row(campaign: str, message: str, channel: str, name: str, statistics: dict[str, Any]) -> dict[str, Any]:
    groupings = {
        "campaign_id": campaign, "campaign_message_id": message, "send_channel": channel,
        "campaign_message_name": name,
    }  # fmt: skip
    return {"groupings": groupings, "statistics": statistics}


def make_service(tmp_path: Path, fake: FakeKlaviyo) -> KlaviyoService:
    settings = make_settings(tmp_path)
    return KlaviyoService(
        settings, load_registry(settings), KlaviyoClient(settings, transport=fake.transport),
        clock=pinned_on(date(2026, 3, 15)),
    )  # fmt: skip


def campaigns_handler(request: httpx.Request) -> httpx.Response:
    flt = request.url.params["filter"]
    channel = "sms" if "'sms'" in flt else "email"
    names = {"C1": ("Spring Sale", "email"), "C2": ("SMS Flash", "sms"), "C3": ("Quiet One", "email")}
    data = [
        {"type": "campaign", "id": cid, "attributes": {"name": name, "send_time": "2026-03-02T10:00:00+00:00"}}
        for cid, (name, ch) in names.items()
        if ch == channel and f'"{cid}"' in flt
    ]
    return jsonapi({"data": data, "links": {"self": "x"}})


def test_one_report_call_names_from_one_call_per_channel_and_rates(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("POST", "/api/campaign-values-reports", report([
        row("C1", "M1", "email", "Spring Sale - A", STATS_A),
        row("C1", "M2", "email", "Spring Sale - B", STATS_A),
        row("C2", "M3", "sms", "Flash", STATS_A),
        row("C3", "M4", "email", "Quiet", STATS_ZERO),
    ]))  # fmt: skip
    fake.route("GET", "/api/campaigns", campaigns_handler)
    svc = make_service(tmp_path, fake)
    result = get_campaign_performance(
        svc, CampaignPerformanceParams(timeframe="last_30_days"), CallContext(Deadline(45))
    )

    reports = fake.bodies("/api/campaign-values-reports")
    assert len(reports) == 1
    attributes = reports[0]["data"]["attributes"]
    assert attributes["conversion_metric_id"] == "PLACED"
    assert "campaign_message_name" in attributes["group_by"]
    assert attributes["timeframe"] == {"start": "2026-02-13T00:00:00", "end": "2026-03-15T00:00:00"}
    campaign_calls = [r for r in fake.requests if r.url.path == "/api/campaigns"]
    assert len(campaign_calls) == 2  # one per channel, not one per campaign

    rows = {r.campaign_id: r for r in result.data.campaigns}
    assert result.data.campaign_count == 3
    assert rows["C1"].campaign_name == "Spring Sale"
    assert rows["C1"].sent == 2000  # both messages summed
    assert rows["C1"].open_rate == 0.5
    assert rows["C1"].click_to_open_rate == 0.2
    assert rows["C1"].bounce_rate == 0.02
    assert rows["C1"].conversion_rate == round(10 / 980, 4)
    assert rows["C1"].revenue_per_recipient == round(1234.5 / 980, 2)
    assert rows["C3"].open_rate is None and rows["C3"].revenue_per_recipient is None
    assert rows["C2"].send_channel == "sms" and rows["C2"].campaign_name == "SMS Flash"
    assert result.data.campaigns[0].campaign_id == "C1"  # most revenue first
    assert result.period is not None and result.period.days == 30
    assert any("event time" in w for w in result.warnings)


def test_campaign_filter_and_chunking_over_a_year(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    rows = [row("C1", "M1", "email", "A", STATS_A), row("C2", "M2", "sms", "B", STATS_A)]
    fake.route("POST", "/api/campaign-values-reports", report(rows))
    fake.route("GET", "/api/campaigns", campaigns_handler)
    svc = make_service(tmp_path, fake)
    params = CampaignPerformanceParams(start_date=date(2024, 1, 1), end_date=date(2025, 12, 31), campaign="C1")
    result = get_campaign_performance(svc, params, CallContext(Deadline(45)))
    bodies = fake.bodies("/api/campaign-values-reports")
    assert len(bodies) == 2
    # The account-wide report of each chunk (shared with every other question on it); C1 selected here.
    assert all("filter" not in b["data"]["attributes"] for b in bodies)
    assert [c.campaign_id for c in result.data.campaigns] == ["C1"]
    assert result.data.campaigns[0].sent == 2000  # both chunks summed
    assert any("2 chunks" in w for w in result.warnings)


def test_names_failure_degrades_to_message_names(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("POST", "/api/campaign-values-reports", report([row("C1", "M1", "email", "Msg name", STATS_A)]))
    fake.route("GET", "/api/campaigns", lambda r: jsonapi({"errors": [{"code": "permission_denied"}]}, 403))
    svc = make_service(tmp_path, fake)
    result = get_campaign_performance(svc, CampaignPerformanceParams(timeframe="today"), CallContext(Deadline(45)))
    assert result.data.campaigns[0].campaign_name == "Msg name"
    assert any("MISSING_SCOPE" in w for w in result.warnings)


def test_no_names_requested_makes_no_campaigns_call(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("POST", "/api/campaign-values-reports", report([row("C1", "M1", "email", "Msg", STATS_A)]))
    svc = make_service(tmp_path, fake)
    params = CampaignPerformanceParams(timeframe="today", resolve_campaign_names=False)
    get_campaign_performance(svc, params, CallContext(Deadline(45)))
    assert [r.url.path for r in fake.requests] == ["/api/campaign-values-reports"]


# The second page waits for a real 1 s burst window; a sleep that overruns under load retakes a slot
# of the 2-per-minute steady window, so beside the parallel pass it can run out of quota: run alone.
@pytest.mark.serial
def test_report_pages_are_followed(tmp_path: Path) -> None:
    pages = {
        None: {**report([row("C1", "M1", "email", "A", STATS_A)]), "links": {"next": "https://a.klaviyo.com/api/campaign-values-reports?page_cursor=p2"}},
        "p2": report([row("C2", "M2", "email", "B", STATS_A)]),
    }  # fmt: skip
    fake = FakeKlaviyo()
    fake.route("POST", "/api/campaign-values-reports", lambda r: jsonapi(pages[r.url.params.get("page_cursor")]))
    svc = make_service(tmp_path, fake)
    params = CampaignPerformanceParams(timeframe="today", resolve_campaign_names=False)
    result = get_campaign_performance(svc, params, CallContext(Deadline(45)))
    assert {r.campaign_id for r in result.data.campaigns} == {"C1", "C2"}
    assert json.loads(fake.requests[1].content) == json.loads(fake.requests[0].content)


def test_bad_window_is_invalid_argument(tmp_path: Path) -> None:
    svc = make_service(tmp_path, FakeKlaviyo())
    with pytest.raises(InvalidArgumentError):
        get_campaign_performance(svc, CampaignPerformanceParams(), CallContext(Deadline(45)))

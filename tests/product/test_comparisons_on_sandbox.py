"""Comparisons and clean numbers on the sandbox, figures checked against its own reports."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_analytics.errors import NotFoundError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.rules.comparisons import compare_window
from klaviyo_analytics.rules.timeframes import preset_period
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.tools import get_tool, run_tool


def ask(service: KlaviyoService, name: str, **arguments: Any) -> dict[str, Any]:
    return run_tool(get_tool(name), service, {"account": "acme", **arguments}, CallContext(Deadline(45)))


def test_last_month_meets_the_calendar_month_before(service: KlaviyoService) -> None:
    result = ask(service, "klaviyo_compare_periods", entity="campaign", timeframe="last_month")["data"]
    expected = compare_window(preset_period("last_month", service.today()), "last_month", "previous_period").prior
    assert result["comparison"] == "previous_calendar_month"
    assert result["prior_period"] == expected.to_dict() and expected.start.day == 1
    # The prior totals are the campaign report of that calendar month, summed.
    prior = ask(service, "klaviyo_get_campaign_performance", start_date=str(expected.start),
                end_date=str(expected.end))["data"]["campaigns"]  # fmt: skip
    assert result["prior_totals"]["sent"] == sum(c["sent"] for c in prior) > 0
    assert isinstance(result["prior_totals"]["sent"], int)
    assert result["prior_totals"]["conversion_value"] == pytest.approx(sum(c["conversion_value"] for c in prior))


def test_sandbox_numbers_are_integers_and_sms_open_rates_null(service: KlaviyoService) -> None:
    campaigns = ask(service, "klaviyo_get_campaign_performance", timeframe="last_90_days")["data"]["campaigns"]
    assert all(isinstance(c["sent"], int) and isinstance(c["opens"], int) for c in campaigns)
    sms = [c for c in campaigns if c["send_channel"] == "sms"]
    assert sms, "the sandbox sends SMS campaigns"
    assert all(c["open_rate"] is None and c["not_applicable"]["open_rate"] == "SMS has no opens" for c in sms)
    assert all(c["open_rate"] is None or round(c["open_rate"], 4) == c["open_rate"] for c in campaigns)


def test_an_unknown_flow_is_not_found_on_the_sandbox(service: KlaviyoService) -> None:
    with pytest.raises(NotFoundError):
        ask(service, "klaviyo_get_flow_performance", timeframe="last_30_days", flow="NoSuchFlow1")
    flows = ask(service, "klaviyo_get_flows")["data"]["flows"]
    known = ask(service, "klaviyo_get_flow_performance", timeframe="last_30_days", flow=flows[0]["flow_id"])
    assert known["data"]["flows"] or any("exists but sent nothing" in w for w in known["warnings"])


def test_health_bands_on_the_sandbox_follow_the_table(service: KlaviyoService) -> None:
    from klaviyo_analytics.rules.bands import MIN_BAND_DELIVERIES, band

    answer = ask(service, "klaviyo_get_campaign_performance", timeframe="last_90_days")
    campaigns = answer["data"]["campaigns"]
    banded = [c for c in campaigns if c["health"]]
    assert banded, "the sandbox has email campaigns large enough to band"
    for c in campaigns:
        if c["send_channel"] == "email" and c["delivered"] >= MIN_BAND_DELIVERIES:
            assert c["health"] == {r: band(r, c[r]) for r in c["health"]} and "open_rate" in c["health"]
        else:
            assert c["health"] == {}
    assert answer["data"]["health_bands"]["source"].startswith("https://help.klaviyo.com/")
    assert any("Apple Mail Privacy Protection" in w for w in answer["warnings"])


def test_a_window_running_past_today_is_warned_and_one_starting_later_refused(service: KlaviyoService) -> None:
    from datetime import timedelta

    from klaviyo_analytics.errors import InvalidArgumentError

    today = service.today()
    answer = ask(service, "klaviyo_get_campaign_performance", start_date=str(today - timedelta(days=3)),
                 end_date=str(today + timedelta(days=3)))  # fmt: skip
    assert any(f"after today ({today})" in w for w in answer["warnings"])
    with pytest.raises(InvalidArgumentError) as caught:
        ask(service, "klaviyo_get_flow_performance", start_date=str(today + timedelta(days=5)),
            end_date=str(today + timedelta(days=9)))  # fmt: skip
    assert caught.value.field == "start_date"

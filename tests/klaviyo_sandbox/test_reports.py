"""Reporting API and metric aggregates: reconciliation, Klaviyo's rate definitions, validation."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx
import pytest

from klaviyo_sandbox import Sandbox

from .helpers import error_of, post

WINDOW = {"start": "2025-10-01T00:00:00", "end": "2025-12-01T00:00:00"}
AGG_WINDOW = ["greater-or-equal(datetime,2025-10-01T00:00:00)", "less-than(datetime,2025-12-01T00:00:00)"]
TZ = "America/New_York"  # acme's timezone: the Reporting API reads custom timeframes in it
COUNTS = ["recipients", "delivered", "bounced", "failed", "opens", "opens_unique", "clicks", "clicks_unique",
          "spam_complaints", "unsubscribes", "unsubscribe_uniques", "conversions", "conversion_uniques",
          "conversion_value"]  # fmt: skip
RATES = ["open_rate", "click_rate", "click_to_open_rate", "bounce_rate", "delivery_rate", "unsubscribe_rate",
         "spam_complaint_rate", "conversion_rate", "revenue_per_recipient", "average_order_value", "failed_rate",
         "bounced_or_failed_rate", "bounced_or_failed"]  # fmt: skip


@pytest.fixture
def conv(fast_sandbox: Sandbox) -> str:
    return fast_sandbox.accounts[0].conversion_metric_id


def _metric(client: httpx.Client, name: str) -> str:
    return next(m["id"] for m in client.get("/api/metrics").json()["data"] if m["attributes"]["name"] == name)


def report(client: httpx.Client, kind: str, **attributes: Any) -> httpx.Response:
    return post(client, f"/api/{kind}-reports", {"type": f"{kind}-report", "attributes": attributes})


def aggregate(client: httpx.Client, metric: str, **attributes: Any) -> httpx.Response:
    body = {"metric_id": metric, "measurements": ["count", "unique", "sum_value"], "filter": AGG_WINDOW,
            "timezone": TZ, **attributes}  # fmt: skip
    return post(client, "/api/metric-aggregates", {"type": "metric-aggregate", "attributes": body})


def _by_dimension(response: httpx.Response, measurement: str) -> dict[str, float]:
    assert response.status_code == 200, response.text
    return {
        row["dimensions"][0]: sum(row["measurements"][measurement])
        for row in response.json()["data"]["attributes"]["data"]
    }


def test_campaign_values_reconcile_with_metric_aggregates(fast: httpx.Client, conv: str) -> None:
    values = report(fast, "campaign-values", statistics=COUNTS, timeframe=WINDOW, conversion_metric_id=conv)
    results = values.json()["data"]["attributes"]["results"]
    assert len([r for r in results if r["statistics"]["recipients"] > 0]) >= 3
    by = ["$message"]
    received = _by_dimension(aggregate(fast, _metric(fast, "Received Email"), by=by), "count")
    received_sms = _by_dimension(aggregate(fast, _metric(fast, "Received SMS"), by=by), "count")
    opened = _by_dimension(aggregate(fast, _metric(fast, "Opened Email"), by=by), "unique")
    clicks = _by_dimension(aggregate(fast, _metric(fast, "Clicked Email"), by=by), "count")
    orders = aggregate(fast, conv, by=["$attributed_message"])
    conversions, value = _by_dimension(orders, "count"), _by_dimension(orders, "sum_value")
    for result in results:
        mid, stats = result["groupings"]["campaign_message_id"], result["statistics"]
        channel = result["groupings"]["send_channel"]
        assert stats["recipients"] == (received if channel == "email" else received_sms).get(mid, 0)
        if channel == "email":
            assert stats["opens_unique"] == opened.get(mid, 0)
            assert stats["clicks"] == clicks.get(mid, 0)
        assert stats["conversions"] == conversions.get(mid, 0)
        assert stats["conversion_value"] == pytest.approx(value.get(mid, 0.0))


def test_flow_values_reconcile_with_series_and_aggregates(fast: httpx.Client, conv: str) -> None:
    values = report(fast, "flow-values", statistics=["recipients", "clicks_unique", "conversion_value"],
                    timeframe=WINDOW | {"start": "2025-10-10T00:00:00"}, conversion_metric_id=conv)  # fmt: skip
    series = report(fast, "flow-series", statistics=["recipients", "clicks_unique", "conversion_value"],
                    timeframe=WINDOW | {"start": "2025-10-10T00:00:00"}, interval="daily",
                    conversion_metric_id=conv)  # fmt: skip
    assert values.status_code == series.status_code == 200
    summed = {
        r["groupings"]["flow_message_id"]: r["statistics"] for r in series.json()["data"]["attributes"]["results"]
    }
    per_flow: dict[str, int] = defaultdict(int)
    for result in values.json()["data"]["attributes"]["results"]:
        stats = result["statistics"]
        days = summed[result["groupings"]["flow_message_id"]]
        assert stats["recipients"] == sum(days["recipients"])
        assert stats["clicks_unique"] == sum(days["clicks_unique"])
        assert stats["conversion_value"] == pytest.approx(sum(days["conversion_value"]))
        if result["groupings"]["send_channel"] == "email":
            per_flow[result["groupings"]["flow_id"]] += stats["recipients"]
    assert per_flow
    received = aggregate(fast, _metric(fast, "Received Email"), by=["$flow"],
                         filter=["greater-or-equal(datetime,2025-10-10T00:00:00)", AGG_WINDOW[1]])  # fmt: skip
    by_flow = _by_dimension(received, "count")
    assert {k: v for k, v in by_flow.items() if k} == dict(per_flow)
    assert len(series.json()["data"]["attributes"]["date_times"]) == 52


def test_series_buckets_follow_the_interval(fast: httpx.Client, conv: str) -> None:
    weekly = report(fast, "flow-series", statistics=["recipients"], timeframe={"key": "last_90_days"},
                    interval="weekly", conversion_metric_id=conv).json()["data"]["attributes"]  # fmt: skip
    assert 13 <= len(weekly["date_times"]) <= 14
    assert all(len(r["statistics"]["recipients"]) == len(weekly["date_times"]) for r in weekly["results"])
    hourly = report(fast, "flow-series", statistics=["recipients"], timeframe={"key": "yesterday"},
                    interval="hourly", conversion_metric_id=conv).json()["data"]["attributes"]  # fmt: skip
    assert len(hourly["date_times"]) == 24
    assert hourly["date_times"][0].endswith("-05:00")


def test_rates_follow_klaviyo_definitions(fast: httpx.Client, conv: str) -> None:
    response = report(fast, "campaign-values", statistics=COUNTS + RATES, timeframe={"key": "last_365_days"},
                      conversion_metric_id=conv)  # fmt: skip
    results = response.json()["data"]["attributes"]["results"]
    assert results

    def ratio(a: float, b: float) -> float:
        return a / b if b else 0.0

    for result in results:
        s = result["statistics"]
        assert s["delivered"] == s["recipients"] - s["bounced"] - s["failed"]
        assert s["open_rate"] == pytest.approx(ratio(s["opens_unique"], s["delivered"]))
        assert s["click_rate"] == pytest.approx(ratio(s["clicks_unique"], s["delivered"]))
        assert s["click_to_open_rate"] == pytest.approx(ratio(s["clicks_unique"], s["opens_unique"]))
        assert s["bounce_rate"] == pytest.approx(ratio(s["bounced"], s["recipients"]))
        assert s["delivery_rate"] == pytest.approx(ratio(s["delivered"], s["recipients"]))
        assert s["unsubscribe_rate"] == pytest.approx(ratio(s["unsubscribe_uniques"], s["delivered"]))
        assert s["spam_complaint_rate"] == pytest.approx(ratio(s["spam_complaints"], s["delivered"]))
        assert s["conversion_rate"] == pytest.approx(ratio(s["conversion_uniques"], s["delivered"]))
        assert s["revenue_per_recipient"] == pytest.approx(ratio(s["conversion_value"], s["delivered"]))
        assert s["average_order_value"] == pytest.approx(ratio(s["conversion_value"], s["conversions"]))
        assert s["failed_rate"] == pytest.approx(ratio(s["failed"], s["recipients"]))
        assert s["bounced_or_failed"] == s["bounced"] + s["failed"]
        assert all(0.0 <= s[r] <= 1.0 for r in RATES if r.endswith("_rate"))
    channels = {r["groupings"]["send_channel"] for r in results}
    assert channels == {"email", "sms"}


def test_sms_cost_statistics(fast: httpx.Client, conv: str) -> None:
    stats = ["recipients", "message_segment_count_sum", "text_message_spend", "text_message_roi", "conversion_value",
             "text_message_credit_usage_amount"]  # fmt: skip
    results = report(fast, "campaign-values", statistics=stats, timeframe={"key": "last_365_days"},
                     conversion_metric_id=conv, filter='equals(send_channel,"sms")').json()["data"]["attributes"]["results"]  # fmt: skip
    assert results and all(r["groupings"]["send_channel"] == "sms" for r in results)
    for r in (r["statistics"] for r in results):
        assert r["message_segment_count_sum"] >= r["recipients"]
        assert r["text_message_credit_usage_amount"] == r["message_segment_count_sum"]
        assert r["text_message_spend"] == pytest.approx(round(r["message_segment_count_sum"] * 0.01, 2))
        if r["text_message_spend"]:
            assert r["text_message_roi"] == pytest.approx(r["conversion_value"] / r["text_message_spend"])


def test_presets_are_populated(fast: httpx.Client, conv: str) -> None:
    for key in ("last_30_days", "last_365_days", "last_90_days", "last_12_months", "yesterday"):
        response = report(fast, "flow-values", statistics=["recipients"], timeframe={"key": key},
                          conversion_metric_id=conv)  # fmt: skip
        assert sum(r["statistics"]["recipients"] for r in response.json()["data"]["attributes"]["results"]) > 0, key
    today = report(
        fast, "flow-values", statistics=["recipients"], timeframe={"key": "today"}, conversion_metric_id=conv
    )
    assert today.json()["data"]["attributes"]["results"] == []  # the data ends at the anchor date


def test_group_by_and_filters(fast: httpx.Client, conv: str) -> None:
    all_results = report(fast, "campaign-values", statistics=["recipients"], timeframe={"key": "last_365_days"},
                         conversion_metric_id=conv).json()["data"]["attributes"]["results"]  # fmt: skip
    assert set(all_results[0]["groupings"]) == {"campaign_id", "campaign_message_id", "send_channel"}
    some = [r["groupings"]["campaign_id"] for r in all_results[:2]]
    picked = report(fast, "campaign-values", statistics=["recipients"], timeframe={"key": "last_365_days"},
                    conversion_metric_id=conv, group_by=["campaign_id", "campaign_message_id", "campaign_message_name"],
                    filter=f"contains-any(campaign_id,{some!r})".replace("'", '"'))  # fmt: skip
    results = picked.json()["data"]["attributes"]["results"]
    assert sorted(r["groupings"]["campaign_id"] for r in results) == sorted(some)
    assert all(r["groupings"]["campaign_message_name"] for r in results)
    related = picked.json()["data"]["relationships"]["campaigns"]["data"]
    assert sorted(x["id"] for x in related) == sorted(some)


def test_flow_values_group_by_flow(fast: httpx.Client, conv: str) -> None:
    response = report(fast, "flow-values", statistics=["recipients"], timeframe={"key": "last_30_days"},
                      conversion_metric_id=conv, group_by=["flow_id", "flow_message_id", "flow_name"])  # fmt: skip
    results = response.json()["data"]["attributes"]["results"]
    assert results and all(r["groupings"]["flow_name"] for r in results)
    assert {"flows", "flow-messages"} <= set(response.json()["data"]["relationships"])


@pytest.mark.parametrize(
    ("attributes", "pointer"),
    [
        ({"timeframe": {"start": "2024-01-01T00:00:00", "end": "2025-06-01T00:00:00"}}, "/data/attributes/timeframe"),
        (
            {"timeframe": {"start": "2025-06-01T00:00:00", "end": "2025-05-01T00:00:00"}},
            "/data/attributes/timeframe/end",
        ),
        ({"timeframe": {"start": "June", "end": "2025-05-01T00:00:00"}}, "/data/attributes/timeframe/start"),
        ({"timeframe": {"key": "last_2_days"}}, "/data/attributes/timeframe/key"),
        ({"timeframe": {"until": "now"}}, "/data/attributes/timeframe"),
        ({"timeframe": "last_30_days"}, "/data/attributes/timeframe"),
        ({"conversion_metric_id": None}, "/data/attributes/conversion_metric_id"),
        ({"conversion_metric_id": "NOPE00"}, "/data/attributes/conversion_metric_id"),
        ({"statistics": ["recipients", "open_rates"]}, "/data/attributes/statistics"),
        ({"statistics": []}, "/data/attributes/statistics"),
        ({"statistics": "recipients"}, "/data/attributes/statistics"),
        ({"group_by": "campaign_id"}, "/data/attributes/group_by"),
        ({"group_by": ["campaign_id"]}, "/data/attributes/group_by"),
        ({"group_by": ["campaign_id", "campaign_message_id", "subject"]}, "/data/attributes/group_by"),
        ({"filter": "equals(subject,'x')"}, "/data/attributes/filter"),
        ({"filter": 'and(equals(send_channel,"sms"),equals(send_channel,"email"))'}, "/data/attributes/filter"),
        ({"filter": 'equals(send_channel,"fax")'}, "/data/attributes/filter"),
        ({"filter": f"contains-any(campaign_id,{[str(i) for i in range(101)]!r})"}, "/data/attributes/filter"),
        ({"filter": 17}, "/data/attributes/filter"),
    ],
)
def test_campaign_report_validation(fast: httpx.Client, conv: str, attributes: dict[str, Any], pointer: str) -> None:
    body = {"statistics": ["recipients"], "timeframe": {"key": "last_30_days"}, "conversion_metric_id": conv}
    response = report(fast, "campaign-values", **(body | attributes))
    assert response.status_code == 400, response.text
    assert error_of(response)["source"] == {"pointer": pointer}


@pytest.mark.parametrize(
    ("interval", "timeframe"),
    [("hourly", {"key": "last_30_days"}), ("daily", {"key": "last_90_days"}), ("monthly", {"key": "last_365_days"})],
)
def test_series_interval_limits(fast: httpx.Client, conv: str, interval: str, timeframe: dict[str, str]) -> None:
    response = report(fast, "flow-series", statistics=["recipients"], timeframe=timeframe, interval=interval,
                      conversion_metric_id=conv)  # fmt: skip
    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/data/attributes/interval"}
    segment = report(fast, "segment-series", statistics=["members_added"], timeframe=timeframe, interval=interval)
    assert segment.status_code == 400


def test_segment_values_series_and_profile_count_agree(fast: httpx.Client) -> None:
    stats = ["members_added", "members_removed", "net_members_changed", "total_members"]
    values = report(fast, "segment-values", statistics=stats, timeframe={"key": "last_30_days"})
    series = report(fast, "segment-series", statistics=stats, timeframe={"key": "last_30_days"}, interval="daily")
    by_segment = {r["groupings"]["segment_id"]: r["statistics"] for r in series.json()["data"]["attributes"]["results"]}
    results = values.json()["data"]["attributes"]["results"]
    assert len(results) == 8
    for result in results:
        segment_id, s = result["groupings"]["segment_id"], result["statistics"]
        days = by_segment[segment_id]
        assert s["members_added"] == sum(days["members_added"]) > 0
        assert s["net_members_changed"] == s["members_added"] - s["members_removed"]
        assert s["total_members"] == days["total_members"][-1]
        counted = fast.get(f"/api/segments/{segment_id}", params={"additional-fields[segment]": "profile_count"})
        assert counted.json()["data"]["attributes"]["profile_count"] == s["total_members"]
    one = results[0]["groupings"]["segment_id"]
    filtered = report(fast, "segment-values", statistics=["total_members"], timeframe={"key": "last_30_days"},
                      filter=f'any(segment_id,["{one}"])')  # fmt: skip
    assert [r["groupings"]["segment_id"] for r in filtered.json()["data"]["attributes"]["results"]] == [one]
    bad = report(fast, "segment-values", statistics=["total_members"], timeframe={"key": "last_30_days"},
                 filter=f'equals(list_id,"{one}")')  # fmt: skip
    assert bad.status_code == 400


def test_list_growth_matches_subscription_events(fast: httpx.Client) -> None:
    first = fast.get("/api/lists").json()
    items = first["data"] + fast.get(first["links"]["next"]).json()["data"]
    lists = {item["attributes"]["name"]: item["id"] for item in items}
    everything = ["greater-or-equal(datetime,2025-03-02T00:00:00)", "less-than(datetime,2026-03-01T00:00:00)"]
    joined = _by_dimension(
        aggregate(fast, _metric(fast, "Subscribed to List"), by=["List"], filter=everything), "count"
    )
    left = _by_dimension(
        aggregate(fast, _metric(fast, "Unsubscribed from List"), by=["List"], filter=everything), "count"
    )
    assert set(joined) == set(lists)
    newsletter = lists["Newsletter"]
    assert joined["Newsletter"] > left["Newsletter"] > 0
    before = fast.get(f"/api/lists/{newsletter}", params={"additional-fields[list]": "profile_count"}).json()
    profile = fast.get("/api/profiles", params={"page[size]": "100"}).json()["data"]
    members = {p["id"] for p in profile}
    post(
        fast, f"/api/lists/{newsletter}/relationships/profiles", [{"type": "profile", "id": i} for i in sorted(members)]
    )
    after = fast.get(f"/api/lists/{newsletter}", params={"additional-fields[list]": "profile_count"}).json()
    grew = after["data"]["attributes"]["profile_count"] - before["data"]["attributes"]["profile_count"]
    assert 0 < grew <= len(members)


def test_metric_aggregate_shape_and_options(fast: httpx.Client, conv: str) -> None:
    response = aggregate(fast, conv, interval="month", measurements=["count", "sum_value"])
    data = response.json()["data"]
    assert data["type"] == "metric-aggregate"
    assert data["attributes"]["dates"] == ["2025-10-01T00:00:00-04:00", "2025-11-01T00:00:00-04:00"]
    [row] = data["attributes"]["data"]
    assert row["dimensions"] == []
    assert set(row["measurements"]) == {"count", "sum_value"}
    assert all(len(v) == 2 for v in row["measurements"].values())
    daily = aggregate(fast, conv, interval="day").json()["data"]["attributes"]
    assert len(daily["dates"]) == 61
    assert sum(daily["data"][0]["measurements"]["count"]) == sum(row["measurements"]["count"])
    hourly = aggregate(fast, conv, interval="hour", filter=["greater-or-equal(datetime,2025-10-01T00:00:00Z)",
                                                            "less-than(datetime,2025-10-02T00:00:00Z)"])  # fmt: skip
    assert len(hourly.json()["data"]["attributes"]["dates"]) == 24
    by_message = aggregate(fast, conv, by=["$attributed_message", "$attributed_channel"], sort="-count")
    rows = by_message.json()["data"]["attributes"]["data"]
    totals = [sum(r["measurements"]["count"]) for r in rows]
    assert totals == sorted(totals, reverse=True)
    organic = [r for r in rows if r["dimensions"] == ["", ""]]
    assert len(organic) == 1
    some = rows[0]["dimensions"][0] or rows[1]["dimensions"][0]
    only = aggregate(
        fast, conv, by=["$attributed_message"], filter=[*AGG_WINDOW, f'equals($attributed_message,"{some}")']
    )
    assert [r["dimensions"] for r in only.json()["data"]["attributes"]["data"]] == [[some]]


@pytest.mark.parametrize(
    ("attributes", "pointer"),
    [
        ({"filter": ["greater-or-equal(datetime,2025-10-01T00:00:00)"]}, "/data/attributes/filter"),
        (
            {"filter": ["greater-or-equal(datetime,2024-01-01T00:00:00)", "less-than(datetime,2025-06-01T00:00:00)"]},
            "/data/attributes/filter",
        ),
        (
            {"filter": ["greater-or-equal(datetime,2025-10-01T00:00:00)", "less-than(datetime,2025-09-01T00:00:00)"]},
            "/data/attributes/filter",
        ),
        ({"filter": [*AGG_WINDOW, "greater-than(datetime,2025-10-05T00:00:00)"]}, "/data/attributes/filter"),
        ({"filter": [*AGG_WINDOW, "equals(Favorite,'x')"]}, "/data/attributes/filter"),
        ({"filter": "greater-or-equal(datetime,2025-10-01T00:00:00)"}, "/data/attributes/filter"),
        ({"filter": ["greater-or-equal(datetime,2025-10-01"]}, "/data/attributes/filter"),
        ({"metric_id": "NOPE00"}, "/data/attributes/metric_id"),
        ({"measurements": ["count", "median"]}, "/data/attributes/measurements"),
        ({"measurements": []}, "/data/attributes/measurements"),
        ({"interval": "year"}, "/data/attributes/interval"),
        ({"by": ["Favorite Color"]}, "/data/attributes/by"),
        ({"by": "$message"}, "/data/attributes/by"),
        ({"timezone": "Europe/Kyiv"}, "/data/attributes/timezone"),
        ({"timezone": "Mars/Olympus"}, "/data/attributes/timezone"),
        ({"page_size": 0}, "/data/attributes/page_size"),
    ],
)
def test_metric_aggregate_validation(fast: httpx.Client, conv: str, attributes: dict[str, Any], pointer: str) -> None:
    response = aggregate(fast, attributes.pop("metric_id", conv), **attributes)
    assert response.status_code == 400, response.text
    assert error_of(response)["source"] == {"pointer": pointer}

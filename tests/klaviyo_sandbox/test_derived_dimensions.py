"""Derived dimensions ($variation, $attributed_variation, URL, $message_send_cohort, Client Type):
seeded where the tools look for them, and summing back to the reports they split."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from klaviyo_sandbox import Sandbox
from klaviyo_sandbox.message_dims import VARIATIONS, ab_tests
from klaviyo_sandbox.series import Series
from klaviyo_sandbox.splits import Shares, allocate, split_series

from .helpers import post


def _aggregate(
    client: httpx.Client, metric: str, start: str, end: str, **attributes: Any
) -> dict[tuple[str, ...], dict[str, list[float]]]:
    body = {"metric_id": metric, "measurements": ["count", "unique", "sum_value"], "interval": "day",
            "filter": [f"greater-or-equal(datetime,{start})", f"less-than(datetime,{end})", *attributes.pop("extra", [])],
            **attributes}  # fmt: skip
    response = post(client, "/api/metric-aggregates", {"type": "metric-aggregate", "attributes": body})
    assert response.status_code == 200, response.text
    return {tuple(r["dimensions"]): r["measurements"] for r in response.json()["data"]["attributes"]["data"]}


def test_an_exact_split_keeps_every_hour_whole_and_each_share_close() -> None:
    series = Series()
    for hour in range(200):
        count = (hour * 7) % 5
        series.add(hour, count, min(count, (hour * 3) % 4), count * 150)
    parts = split_series(series, [Shares(0.3), Shares(0.7, count=0.5, value=0.9)])
    for k in range(len(series.hours)):
        window = (series.hours[k], series.hours[k] + 1)
        pieces = [p.window(*window) for p in parts]
        assert tuple(map(sum, zip(*pieces, strict=True))) == series.window(*window)
        assert all(unique <= count and min(count, unique, value) >= 0 for count, unique, value in pieces)
    assert parts[0].total()[1] == pytest.approx(0.3 * series.total()[1], abs=1)
    assert allocate(5, [-1.0, 2.5, 2.5]) == [0, 3, 2]  # a part ahead of its share gets nothing


def test_two_ab_tests_are_seeded_from_the_recent_campaigns_and_one_flow(fast_sandbox: Sandbox) -> None:
    account = fast_sandbox.store.accounts["acme"]
    tests = ab_tests(account)
    campaigns = [t for mid, t in tests.items() if mid in account.messages]
    assert sorted(t.winner for t in campaigns) == [False, True]
    assert any(mid in account.flow_messages for mid in tests)


def test_grouping_by_a_derived_dimension_sums_to_the_ungrouped_numbers(
    fast_sandbox: Sandbox, fast: httpx.Client
) -> None:
    account = fast_sandbox.store.accounts["acme"]
    mid, _ = next((mid, t) for mid, t in ab_tests(account).items() if t.winner and mid in account.messages)
    sent = account.campaigns[account.messages[mid].campaign_id].send_time
    assert sent is not None
    start, end = sent.strftime("%Y-%m-%dT00:00:00"), (sent + timedelta(days=9)).strftime("%Y-%m-%dT00:00:00")
    one = [f'equals($message,"{mid}")']
    for metric, dimension in (("Opened Email", "$variation"), ("Clicked Email", "URL"), ("Clicked Email", "Client Type"),
                              ("Received Email", "$message_send_cohort")):  # fmt: skip
        metric_id = account.metric_id(metric)
        whole = _aggregate(fast, metric_id, start, end, extra=one)[()]
        parts = _aggregate(fast, metric_id, start, end, extra=one, by=[dimension])
        assert len(parts) >= 1 and all(key[0] for key in parts), (metric, dimension)
        for measure in ("count", "unique"):
            summed = [sum(values) for values in zip(*(p[measure] for p in parts.values()), strict=True)]
            assert summed == whole[measure], (metric, dimension, measure)
    variations = _aggregate(fast, account.metric_id("Opened Email"), start, end, extra=one, by=["$variation"])
    assert sorted(key[0] for key in variations) == list(VARIATIONS)
    orders = _aggregate(fast, account.metric_id("Placed Order"), start, end, by=["$attributed_variation"],
                        extra=[f'equals($attributed_message,"{mid}")'])  # fmt: skip
    assert sum(orders[("Variation B",)]["unique"]) > sum(orders[("Variation A",)]["unique"]) > 0
    # A filter on a derived dimension keeps exactly its part.
    only_b = _aggregate(
        fast, account.metric_id("Opened Email"), start, end, extra=[*one, 'equals($variation,"Variation B")']
    )
    assert only_b[()]["unique"] == variations[("Variation B",)]["unique"]


def test_variation_counts_reconcile_with_the_campaign_values_report(fast_sandbox: Sandbox, fast: httpx.Client) -> None:
    account = fast_sandbox.store.accounts["acme"]
    seeded = fast_sandbox.accounts[0]
    for mid in [m for m in ab_tests(account) if m in account.messages]:
        sent = account.campaigns[account.messages[mid].campaign_id].send_time
        assert sent is not None
        start, end = sent.strftime("%Y-%m-%dT00:00:00"), (sent + timedelta(days=12)).strftime("%Y-%m-%dT00:00:00")
        report = post(fast, "/api/campaign-values-reports", {"type": "campaign-values-report", "attributes": {
            "statistics": ["recipients", "opens_unique", "clicks_unique", "conversion_uniques"],
            "timeframe": {"start": start, "end": end}, "conversion_metric_id": seeded.conversion_metric_id,
            "filter": f'equals(campaign_message_id,"{mid}")'}})  # fmt: skip
        assert report.status_code == 200, report.text
        (row,) = report.json()["data"]["attributes"]["results"]
        tz = {"timezone": seeded.timezone}
        for metric, measure, statistic in (("Received Email", "count", "recipients"),
                                           ("Opened Email", "unique", "opens_unique"),
                                           ("Clicked Email", "unique", "clicks_unique")):  # fmt: skip
            parts = _aggregate(fast, account.metric_id(metric), start, end, by=["$variation"],
                               extra=[f'equals($message,"{mid}")'], **tz)  # fmt: skip
            assert sum(sum(p[measure]) for p in parts.values()) == row["statistics"][statistic], metric

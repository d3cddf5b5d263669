"""Recipient dimensions (Inbox Provider, Email Domain, Bounce Type): split exactly from the message streams.

Every split adds up to the unsplit numbers, in any window and interval, so a grouping by provider
reconciles with the campaign-values report; the seeded Gmail spam spike is where it was put.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx
import pytest

from klaviyo_sandbox import Sandbox

from .helpers import post
from .test_reports import AGG_WINDOW, TZ, _metric, report

LAST_30 = ["greater-or-equal(datetime,2026-01-30T00:00:00)", "less-than(datetime,2026-03-01T00:00:00)"]


def rows(client: httpx.Client, metric: str, by: list[str], window: list[str], **extra: Any) -> list[dict[str, Any]]:
    body = {"metric_id": _metric(client, metric), "measurements": ["count", "unique"], "filter": window,
            "timezone": TZ, "interval": "week", "by": by, **extra}  # fmt: skip
    response = post(client, "/api/metric-aggregates", {"type": "metric-aggregate", "attributes": body})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]["attributes"]["data"]
    return data


def totals(data: list[dict[str, Any]], measurement: str = "count", key: int = 0) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for row in data:
        out[row["dimensions"][key]] += sum(row["measurements"][measurement])
    return dict(out)


@pytest.mark.parametrize("metric", ["Received Email", "Bounced Email", "Marked Email as Spam",
                                    "Unsubscribed from Email Marketing"])  # fmt: skip
def test_split_by_domain_adds_up_to_the_message(fast: httpx.Client, metric: str) -> None:
    whole = rows(fast, metric, ["$message"], AGG_WINDOW)
    split = rows(fast, metric, ["$message", "Inbox Provider", "Email Domain", "Bounce Type"], AGG_WINDOW)
    assert totals(split) == totals(whole)
    assert totals(split, "unique") == totals(whole, "unique")
    providers = {row["dimensions"][1] for row in split}
    assert {"Gmail", "Apple", "Microsoft", "Yahoo", "Other"} <= providers
    bounce_types = {row["dimensions"][3] for row in split}
    assert bounce_types == ({"Hard Bounce", "Soft Bounce"} if metric == "Bounced Email" else {""})
    for row in split:  # a unique is a person; never more of them than events
        assert all(u <= c for u, c in zip(row["measurements"]["unique"], row["measurements"]["count"], strict=True))


def test_split_is_the_same_in_any_interval(fast: httpx.Client) -> None:
    by = ["Email Domain"]
    weekly = totals(rows(fast, "Bounced Email", by, AGG_WINDOW))
    daily = totals(rows(fast, "Bounced Email", by, AGG_WINDOW, interval="day"))
    assert weekly == daily


def test_provider_totals_reconcile_with_the_campaign_values_report(fast_sandbox: Sandbox, fast: httpx.Client) -> None:
    conv = fast_sandbox.accounts[0].conversion_metric_id
    window = {"start": "2025-10-01T00:00:00", "end": "2025-12-01T00:00:00"}
    values = report(fast, "campaign-values", statistics=["recipients", "bounced", "spam_complaints"], timeframe=window,
                    conversion_metric_id=conv, filter='equals(send_channel,"email")')  # fmt: skip
    results = values.json()["data"]["attributes"]["results"]
    assert results
    for metric, stat in (("Received Email", "recipients"), ("Bounced Email", "bounced")):
        by_message = defaultdict(int)
        for row in rows(fast, metric, ["$message", "Inbox Provider"], AGG_WINDOW):
            by_message[row["dimensions"][0]] += sum(row["measurements"]["count"])
        for result in results:
            assert result["statistics"][stat] == by_message.get(result["groupings"]["campaign_message_id"], 0)


def test_the_gmail_spam_spike_is_seeded_in_the_last_30_days(fast: httpx.Client) -> None:
    spam = totals(rows(fast, "Marked Email as Spam", ["Inbox Provider"], LAST_30))
    received = totals(rows(fast, "Received Email", ["Inbox Provider"], LAST_30))
    rate = {p: spam.get(p, 0) / received[p] for p in received if p}
    assert max(rate, key=lambda p: rate[p]) == "Gmail"
    assert rate["Gmail"] > 0.0005 > rate["Apple"]  # Klaviyo's "needs attention" line is 0.05%
    by_message = {
        message: count
        for (message, provider), count in (
            ((tuple(r["dimensions"])), sum(r["measurements"]["count"]))
            for r in rows(fast, "Marked Email as Spam", ["$message", "Inbox Provider"], LAST_30)
        )
        if provider == "Gmail"
    }
    top = max(by_message, key=lambda m: by_message[m])
    assert by_message[top] > 0.5 * sum(by_message.values())  # one send drove it

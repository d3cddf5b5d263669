"""The sandbox's signup forms and clones: reports that agree with each other and with list growth,
Klaviyo's grouping rule, and clones that are always unscheduled Drafts."""

from __future__ import annotations

import random
import statistics
from typing import Any

import httpx
import pytest

from klaviyo_sandbox import Sandbox
from klaviyo_sandbox.forms import binomial

from .helpers import post

TF = {"key": "last_90_days"}


def _values(c: httpx.Client, **attributes: Any) -> list[dict[str, Any]]:
    body = {"type": "form-values-report", "attributes": {"statistics": ["submits", "viewed_form_uniques"],
                                                          "timeframe": TF, **attributes}}  # fmt: skip
    response = post(c, "/api/form-values-reports", body)
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["attributes"]["results"])


def test_versions_add_up_to_their_form_and_the_series_to_the_values(fast: httpx.Client) -> None:
    by_form = {r["groupings"]["form_id"]: r["statistics"]["submits"] for r in _values(fast)}
    by_version: dict[str, int] = {}
    for row in _values(fast, group_by=["form_id", "form_version_id"]):
        by_version[row["groupings"]["form_id"]] = (
            by_version.get(row["groupings"]["form_id"], 0) + row["statistics"]["submits"]
        )
    assert by_form == by_version and len(by_form) == 4  # the draft form has no traffic
    series = post(fast, "/api/form-series-reports", {"type": "form-series-report", "attributes": {
        "statistics": ["submits"], "timeframe": TF, "interval": "weekly"}})  # fmt: skip
    totals = {
        r["groupings"]["form_id"]: sum(r["statistics"]["submits"])
        for r in series.json()["data"]["attributes"]["results"]
    }
    assert totals == by_form


def test_a_version_grouping_needs_its_form_and_filters_keep_whole_rows(
    fast: httpx.Client, fast_sandbox: Sandbox
) -> None:
    bad = post(fast, "/api/form-values-reports", {"type": "form-values-report", "attributes": {
        "statistics": ["submits"], "timeframe": TF, "group_by": ["form_version_id"]}})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["errors"][0]["source"]["pointer"] == "/data/attributes/group_by"
    form_id = next(f.id for f in fast_sandbox.store.accounts["acme"].forms.values() if f.ab_test)
    rows = _values(fast, filter=f'equals(form_id,"{form_id}")')
    assert [r["groupings"]["form_id"] for r in rows] == [form_id]


def test_form_submits_feed_the_list_growth_of_their_list(fast: httpx.Client, fast_sandbox: Sandbox) -> None:
    acme = fast_sandbox.store.accounts["acme"]
    metric = acme.metric_id("Subscribed to List")
    body = {"type": "metric-aggregate", "attributes": {"metric_id": metric, "measurements": ["count"],
            "interval": "month", "by": ["form_id", "List"], "filter": [
                "greater-or-equal(datetime,2025-12-01T00:00:00)", "less-than(datetime,2026-03-01T00:00:00)"]}}  # fmt: skip
    rows = post(fast, "/api/metric-aggregates", body).json()["data"]["attributes"]["data"]
    from_forms = {tuple(r["dimensions"]): sum(r["measurements"]["count"]) for r in rows if r["dimensions"][0]}
    assert {(f.id, f.list_name) for f in acme.forms.values() if f.status == "live"} == set(from_forms)
    assert all(count > 0 for count in from_forms.values())


def test_a_clone_is_an_unscheduled_draft_with_copied_messages(fast: httpx.Client, fast_sandbox: Sandbox) -> None:
    acme = fast_sandbox.store.accounts["acme"]
    source = next(c for c in acme.campaigns.values() if c.status == "Scheduled")
    answer = post(fast, "/api/campaign-clone", {"type": "campaign", "id": source.id, "attributes": {"new_name": None}})
    assert answer.status_code == 201
    clone = acme.campaigns[answer.json()["data"]["id"]]
    assert clone.name == f"Copy of {source.name}" and clone.status == "Draft"
    assert clone.send_time is None and clone.scheduled_at is None and clone.send_strategy == {"method": "immediate"}
    original, copied = acme.messages[source.message_ids[0]], acme.messages[clone.message_ids[0]]
    assert copied.definition["content"] == original.definition["content"]
    assert original.template_id is None or copied.template_id not in (None, original.template_id)
    missing = post(fast, "/api/campaign-clone", {"type": "campaign", "id": "NoSuch", "attributes": {}})
    assert missing.status_code == 404


@pytest.mark.parametrize(("n", "p"), [(40, 0.032), (200, 0.5), (30, 0.85), (1, 0.3)])
def test_the_form_counts_are_drawn_binomially(n: int, p: float) -> None:
    """Submits per hour are Binomial(viewers, rate): the gap-sampling draw has its mean and variance."""
    rng = random.Random(5)
    draws = [binomial(rng, n, p) for _ in range(20_000)]
    assert all(0 <= d <= n for d in draws)
    mean, variance = n * p, n * p * (1 - p)
    assert abs(statistics.fmean(draws) - mean) < 4 * (variance / len(draws)) ** 0.5 + 1e-9
    assert abs(statistics.pvariance(draws) - variance) < 0.06 * variance + 1e-9


def test_the_binomial_draw_edges() -> None:
    rng = random.Random(1)
    assert [binomial(rng, 0, 0.5), binomial(rng, 10, 0.0), binomial(rng, 10, 1.0), binomial(rng, -3, 0.5)] == [
        0,
        0,
        10,
        0,
    ]

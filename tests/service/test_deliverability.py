"""Deliverability against a scripted Klaviyo: an aggregate that fills Klaviyo's page is flagged partial."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx

from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.schemas.deliverability import DeliverabilityParams
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.service.deliverability import AGGREGATE_PAGE, METRICS, get_deliverability
from tests.helpers import FakeKlaviyo, jsonapi, make_settings

NAMES = {f"M{k}": metric for k, (metric, _) in enumerate(METRICS.values())}


def fake_klaviyo(rows_by_send: int) -> FakeKlaviyo:
    fake = FakeKlaviyo()
    metrics = [{"type": "metric", "id": i, "attributes": {"name": n, "integration": {"name": "Klaviyo"}}}
               for i, n in NAMES.items()]  # fmt: skip
    fake.route("GET", "/api/metrics", {"data": metrics, "links": {}})
    account = {"type": "account", "id": "A", "attributes": {"timezone": "UTC"}}
    fake.route("GET", "/api/accounts", {"data": [account], "links": {}})

    def aggregates(request: httpx.Request) -> httpx.Response:
        attributes = json.loads(request.content)["data"]["attributes"]
        if attributes["by"][0] == "$message":  # sends by provider: as many rows as asked
            rows = [{"dimensions": [f"MSG{i}", "", "Gmail", f"Message {i}"][: len(attributes["by"])],
                     "measurements": {m: [10.0] for m in attributes["measurements"]}} for i in range(rows_by_send)]  # fmt: skip
        else:
            rows = [{"dimensions": ["Gmail", "gmail.com", "Hard Bounce"][: len(attributes["by"])],
                     "measurements": {m: [10.0 * rows_by_send] for m in attributes["measurements"]}}]  # fmt: skip
        body = {"data": {"type": "metric-aggregate", "id": "x", "attributes": {"dates": ["2026-03-01T00:00:00+00:00"],
                                                                                 "data": rows}}}  # fmt: skip
        return jsonapi(body)

    fake.route("POST", "/api/metric-aggregates", aggregates)
    return fake


def answer(tmp_path: Path, rows: int) -> tuple[list[str], list[str], int]:
    settings = make_settings(tmp_path)
    fake = fake_klaviyo(rows)
    client = KlaviyoClient(settings, transport=fake.transport)
    svc = KlaviyoService(settings, load_registry(settings), client, clock=pinned_on(date(2026, 3, 15)))
    ctx = CallContext(Deadline(30))
    result = get_deliverability(svc, DeliverabilityParams(account="acme", timeframe="last_30_days"), ctx)
    return result.warnings, ctx.incomplete, result.data.totals.sent


def test_a_full_aggregate_page_is_flagged_partial(tmp_path: Path) -> None:
    warnings, incomplete, sent = answer(tmp_path, AGGREGATE_PAGE)
    assert incomplete and any("filled a whole page" in w for w in warnings)
    assert sent == 10 * AGGREGATE_PAGE


def test_a_short_answer_is_whole(tmp_path: Path) -> None:
    warnings, incomplete, sent = answer(tmp_path, 20)
    assert not incomplete and not any("filled a whole page" in w for w in warnings)
    assert sent == 200

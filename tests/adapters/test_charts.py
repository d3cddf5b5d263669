"""Charts through the adapters: a PNG for MCP clients without Apps and, for those with, the SVG of the
same figure in the result's _meta for the ui:// App; image/png on REST, or the chart's values with the
image as a data: URL. Text and structured content stay whole. Start-up does not load matplotlib."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import pytest
from flask import Flask
from mcp import Client
from mcp.client.extension import ClientExtension
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

import server
from api import create_app
from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.render.chart_app import CHART_META, CHART_URI
from klaviyo_analytics.render.charts import chart_of
from klaviyo_analytics.render.figure import render_png, render_svg
from klaviyo_analytics.service import KlaviyoService
from tests.adapters.conftest import REST_TOKEN
from tests.helpers import TWO_ACCOUNTS, jsonapi, make_settings
from tests.render.chart_reading import texts

CHART_JSON = "application/vnd.klaviyo-mcp.chart+json"


class AppsHost(ClientExtension):
    """A client that shows MCP Apps (as Claude's apps do): it advertises the extension and its MIME type."""

    identifier = EXTENSION_ID

    def settings(self) -> dict[str, Any]:
        return {"mimeTypes": [APP_MIME_TYPE]}


def series_routes(fake: Any) -> None:
    fake.route("POST", "/api/flow-series-reports", lambda r: jsonapi({"data": {"attributes": {
        "results": [{"groupings": {"flow_id": "F1", "send_channel": "email"},
                     "statistics": {"recipients": [10.0, 30.0], "conversion_value": [5.0, 7.5]}}],
        "date_times": ["2026-02-02T00:00:00+00:00", "2026-02-09T00:00:00+00:00"]}}}))  # fmt: skip
    fake.route("GET", "/api/accounts", {"data": [{"type": "account", "id": "A", "attributes": {"timezone": "UTC"}}]})


SERIES_ARGS = {"account": "acme", "entity": "flow", "start_date": "2026-02-02", "end_date": "2026-02-15"}


async def call(service: KlaviyoService, name: str, arguments: dict[str, Any], apps: bool = False) -> Any:
    async with Client(server.build_server(service=service), extensions=[AppsHost()] if apps else None) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        app = await client.read_resource(CHART_URI)
        return tools, app, await client.call_tool(name, arguments)


def test_mcp_without_apps_gets_the_png_of_the_results_chart(service: KlaviyoService, fake: Any) -> None:
    series_routes(fake)
    tools, app, result = anyio.run(call, service, "klaviyo_get_performance_over_time", SERIES_ARGS)
    assert tools["klaviyo_get_performance_over_time"].meta == {"ui": {"resourceUri": CHART_URI}}
    assert tools["klaviyo_get_flows"].meta is None
    page = app.contents[0]
    assert page.mime_type == "text/html;profile=mcp-app" and "ui/notifications/tool-result" in page.text
    text, image = result.content
    assert text.type == "text" and result.structured_content["data"]["series"]
    assert image.type == "image" and image.mime_type == "image/png"
    chart = chart_of(result.structured_content)
    assert chart is not None and base64.b64decode(image.data) == render_png(chart)
    assert not (result.meta or {}).get(CHART_META)


def test_mcp_with_apps_gets_the_same_figure_as_svg_for_the_app(service: KlaviyoService, fake: Any) -> None:
    series_routes(fake)
    _, _, result = anyio.run(call, service, "klaviyo_get_performance_over_time", SERIES_ARGS, True)
    assert [c.type for c in result.content] == ["text"]  # no image for the model: the App shows it
    drawn = result.meta[CHART_META]
    chart = chart_of(result.structured_content)
    assert chart is not None and drawn["svg"] == render_svg(chart) and drawn["alt"] == chart.summary()
    words = texts(drawn["svg"])
    assert {"Flows: revenue per week", "Revenue", "2026-02-02", "2026-02-09", "5.00", "7.50"} <= set(words)


def test_rest_answers_image_png_or_the_charts_values_with_the_image(app: Flask, fake: Any) -> None:
    fake.route("POST", "/api/campaign-values-reports", {"data": {"attributes": {"results": [
        {"groupings": {"campaign_id": "C1", "send_channel": "email"},
         "statistics": {"recipients": 100, "delivered": 100, "conversion_value": 50.0, "conversions": 2}}]}}})  # fmt: skip
    fake.route("GET", "/api/accounts", {"data": [{"type": "account", "id": "A", "attributes": {"timezone": "UTC"}}]})
    headers = {"Authorization": f"Bearer {REST_TOKEN}"}
    body = {"account": "acme", "entity": "campaign", "timeframe": "last_30_days"}
    client = app.test_client()
    png = client.post("/v1/performance/compare", json=body, headers={**headers, "Accept": "image/png"})
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert png.headers["Link"] == f'</v1/performance/compare>; rel="alternate"; type="{CHART_JSON}"'
    both = client.post("/v1/performance/compare", json=body, headers={**headers, "Accept": CHART_JSON})
    assert both.status_code == 200 and both.mimetype == CHART_JSON
    answer = json.loads(both.data)
    chart = answer["chart"]
    assert answer["data"]["current_totals"]["conversion_value"] == 50.0  # the whole answer, and its chart
    revenue = next(p for p in chart["panels"] if p["y_label"].startswith("Revenue"))
    assert [b["values"] for b in revenue["bars"]] == [[50.0, None], [None, 50.0]]  # the fake answers both windows alike
    assert chart["image"] == "data:image/png;base64," + base64.b64encode(png.data).decode()  # the same picture
    assert "current: " in chart["alt"] and "50.00" in chart["alt"]
    plain = client.post("/v1/performance/compare", json=body, headers=headers)
    assert plain.mimetype == "application/json" and plain.json["data"]["comparison"] == "previous_equal_window"
    assert "chart" not in plain.json


def test_start_up_does_not_load_the_drawing_code() -> None:
    import subprocess
    import sys
    from pathlib import Path

    drawing = ("matplotlib", "klaviyo_analytics.render.figure", "klaviyo_analytics.render.charts")
    probe = f"import sys, server, api, klaviyo_analytics.tools; print(sorted(m for m in {drawing} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_rest_answers_json_when_there_is_nothing_to_draw(app: Flask, fake: Any) -> None:
    fake.route("POST", "/api/flow-series-reports", lambda r: jsonapi({"data": {"attributes": {
        "results": [], "date_times": ["2026-02-02T00:00:00+00:00"]}}}))  # fmt: skip
    fake.route("GET", "/api/accounts", {"data": [{"type": "account", "id": "A", "attributes": {"timezone": "UTC"}}]})
    headers = {"Authorization": f"Bearer {REST_TOKEN}"}
    client = app.test_client()
    for accept in ("image/png", CHART_JSON):
        answer = client.post("/v1/performance/over-time", json=SERIES_ARGS, headers={**headers, "Accept": accept})
        assert answer.status_code == 200 and answer.mimetype == "application/json"
        assert answer.json["data"]["series"] == [] and "chart" not in answer.json


def late_service(tmp_path: Path, fake: Any) -> KlaviyoService:
    """The service with a 1 s tool deadline: the fake answers at once, and a shorter deadline could
    expire in the call itself on a loaded machine."""
    settings = make_settings(tmp_path, TWO_ACCOUNTS, KLAVIYO_MCP_REST_API_KEY=REST_TOKEN,
                             KLAVIYO_MCP_TOOL_DEADLINE_SECONDS="1")  # fmt: skip
    client = KlaviyoClient(settings, transport=fake.transport)
    return KlaviyoService(settings, load_registry(settings), client, clock=pinned_on(date(2026, 3, 15)))


def test_a_chart_that_would_pass_the_deadline_is_left_out_not_waited_for(
    tmp_path: Path, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    series_routes(fake)
    slow = threading.Event()  # the drawing never ends within the test: only the deadline can end the wait
    monkeypatch.setattr(server, "chart_parts", lambda envelope, apps: (slow.wait(5), (None, None))[1])
    monkeypatch.setattr("klaviyo_analytics.render.figure.render_png", lambda chart: (slow.wait(5), b"")[1])
    service = late_service(tmp_path, fake)
    try:
        started = time.perf_counter()
        _, _, result = anyio.run(call, service, "klaviyo_get_performance_over_time", SERIES_ARGS)
        assert time.perf_counter() - started < 1 + 1.5  # the deadline, and the adapter's own time
        assert [c.type for c in result.content] == ["text", "text"] and result.content[1].text == server.CHART_LATE
        assert result.structured_content["data"]["series"]  # the answer itself is whole
        headers = {"Authorization": f"Bearer {REST_TOKEN}", "Accept": "image/png"}
        started = time.perf_counter()
        answer = create_app(service=service).test_client().post("/v1/performance/over-time", json=SERIES_ARGS,
                                                                headers=headers)  # fmt: skip
        assert time.perf_counter() - started < 1 + 1.5
        assert answer.mimetype == "application/json" and answer.json["data"]["series"]
    finally:
        slow.set()

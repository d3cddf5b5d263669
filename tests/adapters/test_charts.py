"""Charts: a PNG for MCP clients without Apps, a ui:// App for those with, image/png on REST;
each image checked for its size and that it is not blank. Text and structured content stay whole."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import anyio
from flask import Flask
from mcp import Client

import server
from klaviyo_analytics.render.chart_app import CHART_URI
from klaviyo_analytics.render.charts import Chart, chart_of
from klaviyo_analytics.render.png import HEIGHT, WIDTH, render_png
from klaviyo_analytics.service import KlaviyoService
from tests.adapters.conftest import REST_TOKEN
from tests.helpers import jsonapi

SERIES = {"data": {"entity": "flow", "interval": "weekly", "date_times": ["2026-03-02", "2026-03-09", "2026-03-16"],
                   "series": [{"groupings": {}, "statistics": {"recipients": [10, 30, 20]}},
                              {"groupings": {}, "statistics": {"recipients": [5, 0, None]}}]}}  # fmt: skip


def pixels(png: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct colours of an 8-bit RGB PNG (as render_png writes it)."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    idat = png.index(b"IDAT")
    length = struct.unpack(">I", png[idat - 4 : idat])[0]
    raw = zlib.decompress(png[idat + 4 : idat + 4 + length])
    stride = width * 3 + 1
    colours = {raw[r * stride + 1 + 3 * x : r * stride + 4 + 3 * x] for r in range(height) for x in range(0, width, 7)}
    return width, height, colours


def test_a_series_chart_sums_its_rows_and_draws_bars() -> None:
    chart = chart_of(SERIES)
    assert chart == Chart("recipients per weekly", ("2026-03-02", "2026-03-09", "2026-03-16"), (15.0, 30.0, 20.0))
    png = render_png(chart)
    width, height, colours = pixels(png)
    assert (width, height) == (WIDTH, HEIGHT) and 1_000 < len(png) < 60_000
    assert (47, 109, 176) in {tuple(c) for c in colours} and len(colours) >= 3  # bars on a background: not blank


async def call(service: KlaviyoService, name: str, arguments: dict[str, Any]) -> Any:
    async with Client(server.build_server(service=service)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        app = await client.read_resource(CHART_URI)
        return tools, app, await client.call_tool(name, arguments)


def test_mcp_offers_the_app_and_a_png_fallback(service: KlaviyoService, fake: Any) -> None:
    fake.route("POST", "/api/flow-series-reports", lambda r: jsonapi({"data": {"attributes": {
        "results": [{"groupings": {"flow_id": "F1", "send_channel": "email"},
                     "statistics": {"recipients": [10.0, 30.0], "conversion_value": [5.0, 7.5]}}],
        "date_times": ["2026-02-02T00:00:00+00:00", "2026-02-09T00:00:00+00:00"]}}}))  # fmt: skip
    fake.route("GET", "/api/accounts", {"data": [{"type": "account", "id": "A", "attributes": {"timezone": "UTC"}}]})
    arguments = {"account": "acme", "entity": "flow", "start_date": "2026-02-02", "end_date": "2026-02-15"}
    tools, app, result = anyio.run(call, service, "klaviyo_get_performance_over_time", arguments)
    assert tools["klaviyo_get_performance_over_time"].meta == {"ui": {"resourceUri": CHART_URI}}
    assert tools["klaviyo_get_flows"].meta is None
    page = app.contents[0]
    assert page.mime_type == "text/html;profile=mcp-app" and "ui/notifications/tool-result" in page.text
    text, image = result.content
    assert text.type == "text" and result.structured_content["data"]["series"]
    assert image.type == "image" and image.mime_type == "image/png"
    _, _, colours = pixels(base64.b64decode(image.data))
    assert len(colours) >= 3


def test_rest_answers_image_png_when_asked(app: Flask, fake: Any) -> None:
    fake.route("POST", "/api/campaign-values-reports", {"data": {"attributes": {"results": [
        {"groupings": {"campaign_id": "C1", "send_channel": "email"},
         "statistics": {"recipients": 100, "delivered": 100, "conversion_value": 50.0, "conversions": 2}}]}}})  # fmt: skip
    fake.route("GET", "/api/accounts", {"data": [{"type": "account", "id": "A", "attributes": {"timezone": "UTC"}}]})
    headers = {"Authorization": f"Bearer {REST_TOKEN}"}
    body = {"account": "acme", "entity": "campaign", "timeframe": "last_30_days"}
    client = app.test_client()
    png = client.post("/v1/performance/compare", json=body, headers={**headers, "Accept": "image/png"})
    assert png.status_code == 200 and png.mimetype == "image/png" and len(pixels(png.data)[2]) >= 3
    plain = client.post("/v1/performance/compare", json=body, headers=headers)
    assert plain.mimetype == "application/json" and plain.json["data"]["comparison"] == "previous_equal_window"


def test_start_up_does_not_load_the_drawing_code() -> None:
    import subprocess
    import sys
    from pathlib import Path

    probe = "import sys, server, api; print(sorted(m for m in ('klaviyo_analytics.render.png', 'klaviyo_analytics.render.charts') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert out.stdout.strip() == "[]"

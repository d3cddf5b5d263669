"""The chart App in a real browser (Debian's chromium), framed by a minimal host that speaks the Apps
handshake: it shows the SVG the server drew for the result, with its words as text, and nothing in
that SVG can run. KLAVIYO_MCP_SCREENSHOTS=<dir> keeps a picture of it."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.render.chart_app import CHART_HTML, CHART_META
from klaviyo_analytics.render.charts import chart_of
from klaviyo_analytics.render.figure import render_svg
from tests.browser import CHROMIUM, chromium
from tests.render.test_charts import COMPARE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api")


def host_page(result: dict[str, Any]) -> str:
    """A host that frames the App, answers ui/initialize and then sends the tool result."""
    data = json.dumps(result).replace("</", "<\\/")
    return f"""<!doctype html><html><body style="margin:0">
<script>
const RESULT = {data};
window.addEventListener("message", (e) => {{
  const m = e.data || {{}}, app = document.getElementById("app").contentWindow;
  if (m.method === "ui/initialize") app.postMessage({{jsonrpc: "2.0", id: m.id, result: {{
    protocolVersion: m.params.protocolVersion, hostInfo: {{name: "test host", version: "1"}}, hostCapabilities: {{}}}}}}, "*");
  if (m.method === "ui/notifications/size-changed") window.SIZE = m.params;
  if (m.method === "ui/notifications/initialized") app.postMessage({{jsonrpc: "2.0",
    method: "ui/notifications/tool-result", params: RESULT}}, "*");
}});
</script>
<iframe id="app" style="border:0;width:960px;height:480px" srcdoc="{html.escape(CHART_HTML)}"></iframe>
</body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def shown(browser: Any, result: dict[str, Any]) -> tuple[Any, Any]:
    page = browser.new_page(viewport={"width": 980, "height": 500})
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.set_content(host_page(result))
    return page, page.frame_locator("#app")


def test_the_app_shows_the_servers_svg_with_its_words(browser: Any) -> None:
    chart = chart_of(COMPARE)
    assert chart is not None
    svg = render_svg(chart)
    page, app = shown(browser, {"content": [], "_meta": {CHART_META: {"svg": svg, "alt": chart.summary()}}})
    app.locator("#chart svg text").first.wait_for()
    words = [w.strip() for w in app.locator("#chart svg text").all_text_contents()]
    assert {"Revenue (GBP)", "5,209.36", "17,249.79", "current: 2026-11-07 to 2026-12-06"} <= set(words)
    assert app.locator("#chart").get_attribute("aria-label") == chart.summary()
    page.wait_for_function("window.SIZE !== undefined")
    assert 300 < page.evaluate("window.SIZE.height") < 700  # the figure's height, for the host to fit
    if os.environ.get("KLAVIYO_MCP_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["KLAVIYO_MCP_SCREENSHOTS"]) / "chart-app.png"))
    page.close()


def test_nothing_in_the_svg_runs_and_a_result_without_a_chart_says_so(browser: Any) -> None:
    hostile = (
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script>'
        '<a href="javascript:alert(3)"><text x="5" y="15" onclick="alert(4)">hi</text></a></svg>'
    )
    page, app = shown(browser, {"content": [], "_meta": {CHART_META: {"svg": hostile, "alt": "x"}}})
    app.locator("#chart svg text").wait_for()
    assert app.locator("#chart svg text").text_content() == "hi"
    inner = app.locator("#chart").inner_html()
    assert "script" not in inner and "onload" not in inner and "onclick" not in inner and "javascript" not in inner
    app.locator("#chart svg text").click()
    assert page.dialogs == []
    page.close()
    page, app = shown(browser, {"content": [{"type": "text", "text": "no chart"}]})
    app.locator("text=This result has no chart.").wait_for()
    page.close()

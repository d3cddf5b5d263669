"""The MCP App (``ui://`` resource) that shows a chart tool's result in hosts that support Apps.

One static HTML document: it does the Apps handshake over postMessage (``ui/initialize``, then
``ui/notifications/initialized``), waits for ``ui/notifications/tool-result`` and shows the SVG the
server drew for that result (``_meta["klaviyo-mcp/chart"]``, figure.py): the same figure as the PNG
other hosts get, its words kept as text. It calls no tool and loads nothing (no network, no CSP
domains); the SVG is parsed as XML and any script or event attribute dropped before it is shown.
Everyone also gets the full text and structured content.
"""

from __future__ import annotations

CHART_URI = "ui://klaviyo-mcp/chart.html"
# The MCP Apps protocol revision the view speaks (ext-apps LATEST_PROTOCOL_VERSION).
APPS_PROTOCOL = "2026-01-26"

# Where a chart tool's result carries its drawn chart for the App (a _meta key: the model never reads it).
CHART_META = "klaviyo-mcp/chart"

CHART_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>klaviyo-mcp chart</title>
<style>body{font:12px system-ui,sans-serif;margin:8px;color:#222}#chart svg{max-width:100%;height:auto}</style></head>
<body><div id="chart" role="img" aria-label="chart">Waiting for the result…</div>
<script>
function clean(svg) {
  // Our server drew it; still, nothing in it may run.
  for (const s of svg.querySelectorAll("script, foreignObject")) s.remove();
  for (const el of [svg, ...svg.querySelectorAll("*")]) {
    for (const a of [...el.attributes]) {
      if (/^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value)) el.removeAttribute(a.name);
    }
  }
  return svg;
}
function show(result) {
  const box = document.getElementById("chart");
  const chart = ((result || {})._meta || {})["CHART_META"];
  const text = chart && typeof chart.svg === "string" ? chart.svg : null;
  const doc = text ? new DOMParser().parseFromString(text, "image/svg+xml") : null;
  const svg = doc && doc.documentElement;
  if (!svg || svg.nodeName !== "svg") { box.textContent = "This result has no chart."; return; }
  box.replaceChildren(document.importNode(clean(svg), true));
  box.setAttribute("aria-label", String(chart.alt || "chart"));
  // The host sizes the frame to the figure (the SVG scales to the frame's width).
  window.parent.postMessage({jsonrpc: "2.0", method: "ui/notifications/size-changed",
    params: {height: Math.ceil(document.documentElement.scrollHeight)}}, "*");
}
window.addEventListener("message", (event) => {
  const msg = event.data || {};
  if (msg.id === 1 && "result" in msg) {
    window.parent.postMessage({jsonrpc: "2.0", method: "ui/notifications/initialized", params: {}}, "*");
  }
  if (msg.method === "ui/notifications/tool-result") show(msg.params);
});
window.parent.postMessage({jsonrpc: "2.0", id: 1, method: "ui/initialize", params: {
  protocolVersion: "APPS_PROTOCOL", appInfo: {name: "klaviyo-mcp chart", version: "2"}, appCapabilities: {}}}, "*");
</script></body></html>
""".replace("APPS_PROTOCOL", APPS_PROTOCOL).replace("CHART_META", CHART_META)

"""The MCP App (``ui://`` resource) that draws a chart tool's result in hosts that support Apps.

One static HTML document: it does the Apps handshake over postMessage (``ui/initialize``, then
``ui/notifications/initialized``), waits for ``ui/notifications/tool-result`` and draws the same
bars as charts.py from the result's structured content, as SVG. It calls no tool and loads
nothing (no network, no CSP domains); every value it shows is escaped. Hosts without Apps get a PNG
instead (server.py), and everyone gets the full text and structured content.
"""

from __future__ import annotations

CHART_URI = "ui://klaviyo-mcp/chart.html"
# The MCP Apps protocol revision the view speaks (ext-apps LATEST_PROTOCOL_VERSION).
APPS_PROTOCOL = "2026-01-26"

CHART_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>klaviyo-mcp chart</title>
<style>body{font:12px system-ui,sans-serif;margin:8px;color:#222}svg text{fill:#222}</style></head>
<body><div id="chart">Waiting for the result…</div>
<script>
const PREFERRED = ["conversion_value", "recipients", "opens_unique", "clicks_unique", "conversions"];
const COMPARED = ["conversion_value", "sent", "conversions"];
function esc(t) {
  return String(t).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}
function num(v) { return typeof v === "number" ? v.toLocaleString(undefined, {maximumFractionDigits: 2}) : "—"; }
function chartOf(env) {
  const d = (env && env.data) || {};
  if (d.series && d.date_times) {
    const stats = new Set(d.series.flatMap(r => Object.keys(r.statistics)));
    const stat = PREFERRED.find(s => stats.has(s)) || [...stats][0];
    const totals = d.date_times.map((_, i) => d.series.reduce((a, r) => a + ((r.statistics[stat] || [])[i] || 0), 0));
    return {title: stat + " per " + d.interval, rows: d.date_times.map((t, i) => [String(t).slice(0, 10), totals[i]])};
  }
  if (d.current_totals && d.prior_totals) {
    const pairs = COMPARED.map(k => [k, d.current_totals[k] || 0, d.prior_totals[k] || 0]);
    return {title: "this window vs prior", pairs: pairs};
  }
  if (d.sources) return {title: "revenue by source", rows: d.sources.map(s => [s.source, s.revenue])};
  return null;
}
function bar(y, label, value, top, color, dy) {
  const w = Math.max(1, Math.round(300 * Math.max(value, 0) / (top || 1)));
  return `<text x="0" y="${y + 12}">${esc(label)}</text>` +
         `<rect x="110" y="${y}" width="${w}" height="${dy - 4}" fill="${color}"/>` +
         `<text x="${116 + w}" y="${y + 12}">${esc(num(value))}</text>`;
}
function draw(c) {
  let y = 22, out = "";
  if (c.rows) {
    const top = Math.max(0, ...c.rows.map(r => r[1]));
    for (const [label, v] of c.rows) { out += bar(y, label, v, top, "#2f6db0", 18); y += 18; }
  } else {
    for (const [label, now, before] of c.pairs) {
      const top = Math.max(now, before, 0);
      out += bar(y, label, now, top, "#2f6db0", 16); y += 16;
      out += bar(y, "  prior", before, top, "#a0bee1", 16); y += 22;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="${y + 8}" font-size="11">` +
         `<text x="0" y="12" font-weight="bold">${esc(c.title)}</text>${out}</svg>`;
}
window.addEventListener("message", (event) => {
  const msg = event.data || {};
  if (msg.id === 1 && "result" in msg) {
    window.parent.postMessage({jsonrpc: "2.0", method: "ui/notifications/initialized", params: {}}, "*");
  }
  if (msg.method === "ui/notifications/tool-result") {
    const c = chartOf((msg.params || {}).structuredContent);
    document.getElementById("chart").innerHTML = c ? draw(c) : "This result has no chart.";
  }
});
window.parent.postMessage({jsonrpc: "2.0", id: 1, method: "ui/initialize", params: {
  protocolVersion: "APPS_PROTOCOL", appInfo: {name: "klaviyo-mcp chart", version: "1"}, appCapabilities: {}}}, "*");
</script></body></html>
""".replace("APPS_PROTOCOL", APPS_PROTOCOL)

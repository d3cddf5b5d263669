"""A digest as Markdown or HTML, charts included (text bars in Markdown, inline SVG in HTML).

Both renderings are built from the same lines (``outline``), so they always say the same thing;
names from the account (already cleaned by the output models) are escaped for the format, so a
campaign called ``<script>`` or ``| **x** |`` is shown, never interpreted. No plotting library:
the charts are a few bars, drawn in text and SVG.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from klaviyo_analytics.rules.bands import SOURCE_TITLE, SOURCE_UPDATED, SOURCE_URL, worst
from klaviyo_analytics.rules.untrusted import cap
from klaviyo_analytics.service.digest_sections import Digest
from klaviyo_analytics.service.money import format_money

BAR_WIDTH = 24  # characters of the longest text bar
# Names from the account are cut to this in a digest: a line stays readable (and short).
NAME_CHARS = 80
SVG_WIDTH = 360
UNITS = {"delivered": "deliveries", "unique_conversions": "converting people"}
COMPARED = (
    ("conversion_value", "Revenue", "money"),
    ("sent", "Sent", "count"),
    ("conversions", "Conversions", "count"),
    ("open_rate", "Open rate", "rate"),
    ("click_rate", "Click rate", "rate"),
)


def money(value: Any, currency: str | None = None) -> str:
    """``£1,234.00`` in the account's currency (money.py); a bare number only if it is unknown."""
    return format_money(None if value is None else float(value), currency)


def count(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def rate(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{float(value) * 100:.{digits}f}%"


def rate_digits(current: Any, prior: Any, pct_change: Any, most: int = 3) -> int:
    """Decimals of a percentage that show a reported change: the two rates as printed must give
    back the change within a tenth of it (0.10% → 0.24% is +140%; "0.1% → 0.2%" would say +100%)."""
    if not isinstance(current, int | float) or not isinstance(prior, int | float) or pct_change is None:
        return 1
    for digits in range(1, most + 1):
        shown_now, shown_before = round(current * 100, digits), round(prior * 100, digits)
        if shown_before and abs((shown_now - shown_before) / shown_before - pct_change) <= abs(pct_change) / 10:
            return digits
    return most


def change(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:+.1f}%".replace("-", "−")


FORMATS = {"money": money, "count": count, "rate": rate}


@dataclass
class Chart:
    title: str
    bars: list[tuple[str, float]]  # label, value (same unit)


@dataclass
class Block:
    kind: str  # "h2", "p", "table", "list", "chart"
    content: Any


def short(name: str | None, fallback: str) -> str:
    return cap(name, NAME_CHARS) if name else fallback


def anomaly_line(a: dict[str, Any], currency: str | None = None) -> str:
    name, metric = short(a["name"], "All flows"), a["metric"]
    impact = "" if a.get("impact") is None else f"; impact {money(a['impact'], currency)}"
    if a["kind"] != "change":
        verb = "stopped sending" if a["kind"] == "stopped_sending" else "stopped converting"
        return (f"{name} {verb}: {count(a['current'])} {UNITS[metric]} this week, {count(a['prior'])} last week"
                f"{impact}")  # fmt: skip
    if metric == "conversion_value":
        now, before = money(a["current"], currency), money(a["prior"], currency)
    elif metric.endswith("_rate"):
        digits = rate_digits(a["current"], a["prior"], a["pct_change"])
        now, before = rate(a["current"], digits), rate(a["prior"], digits)
    else:
        now, before = count(a["current"]), count(a["prior"])
    volumes = f"{count(a.get('current_volume'))} vs {count(a.get('prior_volume'))}"
    return (
        f"{name}: {metric.replace('_', ' ')} {now} this week, {before} last week ({change(a['pct_change'])}; "
        f"volumes {volumes}; p = {a.get('p_value')}{impact})"
    )


def ranked_line(r: dict[str, Any], currency: str | None = None) -> str:
    line = f"{short(r['name'], r['id'])}: {money(r['value'], currency)} from {count(r['delivered'])} deliveries"
    band = worst(r["health"])
    if band and band != "healthy":
        rates = ", ".join(k.replace("_", " ") for k, b in r["health"].items() if b == band)
        line += f"; {band.replace('_', ' ')}: {rates}"
    return line


def _in(title: str, currency: str | None) -> str:
    return f"{title} ({currency})" if currency else title


def outline(d: Digest) -> tuple[str, list[Block]]:
    """The digest's title and blocks, in reading order."""
    s, cur_code = d.sections, d.currency

    def cash(value: Any) -> str:
        return money(value, cur_code)

    head = s.get("campaigns") or s.get("flows") or {}
    title = f"Weekly digest: {short(d.label, d.account)} ({d.account})"
    blocks: list[Block] = []
    if head:
        cur, pri = head["current_period"], head["prior_period"]
        window = f"{cur['start_date']} to {cur['end_date']}, against {pri['start_date']} to {pri['end_date']}"
        blocks.append(Block("p", f"{window} ({head['comparison']})."))
    revenue = s.get("revenue")
    if revenue:
        src = {x["source"]: x for x in revenue["sources"]}
        blocks.append(Block("h2", f"Revenue ({cur_code})" if cur_code else "Revenue"))
        campaigns, flows, other = src["campaigns"], src["flows"], src["other"]
        text = (
            f"Revenue {cash(revenue['total_revenue'])}: campaigns {cash(campaigns['revenue'])} "
            f"({rate(campaigns['share'])}), flows {cash(flows['revenue'])} ({rate(flows['share'])}), "
            f"other {cash(other['revenue'])}. Email share {rate(revenue['email_share'])}."
        )
        blocks.append(Block("p", text))
        blocks.append(
            Block(
                "chart",
                Chart(_in("Revenue by source", cur_code), [(x["source"], x["revenue"]) for x in revenue["sources"]]),
            )
        )
    for name, label in (("campaigns", "Campaigns"), ("flows", "Flows")):
        data = s.get(name)
        if not data:
            continue
        now, before, deltas = data["current_totals"], data["prior_totals"], data["deltas"]
        rows = [
            [
                title_,
                shown(kind, now.get(key), cur_code),
                shown(kind, before.get(key), cur_code),
                change(deltas[key]["pct_change"]),
            ]
            for key, title_, kind in COMPARED
        ]
        blocks.append(Block("h2", f"{label}: this week against last"))
        blocks.append(Block("table", [["", "this week", "last week", "change"], *rows]))
        weeks = [
            ("this week", now.get("conversion_value") or 0.0),
            ("last week", before.get("conversion_value") or 0.0),
        ]
        blocks.append(Block("chart", Chart(_in(f"{label} revenue", cur_code), weeks)))
        if data["current_health"]:
            bands = ", ".join(f"{r.replace('_', ' ')} {b.replace('_', ' ')}" for r, b in data["current_health"].items())
            blocks.append(Block("p", f"Health bands this week: {bands}."))
    anomalies = s.get("anomalies")
    if anomalies is not None:
        blocks.append(Block("h2", "Anomalies"))
        items = [anomaly_line(a, cur_code) for a in anomalies["anomalies"][:8]]
        blocks.append(Block("list", items or ["Nothing moved by 30% or more beyond noise."]))
        if anomalies.get("suppressed"):
            blocks.append(Block("p", f"{anomalies['suppressed']} smaller or not significant changes left out."))
    for name, label in (("top_campaigns", "Top campaigns"), ("top_flows", "Top flows")):
        data = s.get(name)
        if data is None:
            continue
        blocks.append(Block("h2", f"{label} by revenue"))
        items = [ranked_line(r, cur_code) for r in data["ranked"]]
        blocks.append(Block("list", items or ["None with at least 100 deliveries this week."]))
    if d.missing:
        blocks.append(Block("h2", "Not finished"))
        blocks.append(
            Block("list", [f"{n} ({why}): ask again; finished reports are cached" for n, why in d.missing.items()])
        )
    blocks.append(Block("h2", "Notes"))
    notes = [*d.warnings, f"Health bands: {SOURCE_TITLE} ({SOURCE_URL}), updated {SOURCE_UPDATED}."]
    blocks.append(Block("list", notes))
    return title, blocks


def shown(kind: str, value: Any, currency: str | None = None) -> str:
    return money(value, currency) if kind == "money" else FORMATS[kind](value)


# What can change the meaning of a line (emphasis, code, links, tables, HTML); the rest is plain.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>])")


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def text_bars(chart: Chart) -> str:
    top = max((v for _, v in chart.bars), default=0.0) or 1.0
    width = max(len(label) for label, _ in chart.bars)
    lines = [f"{label.ljust(width)}  {'█' * max(0, round(BAR_WIDTH * v / top))} {money(v)}" for label, v in chart.bars]
    return f"{chart.title}\n```\n" + "\n".join(lines) + "\n```"


def to_markdown(d: Digest) -> str:
    title, blocks = outline(d)
    out = [f"# {md_escape(title)}", ""]
    for block in blocks:
        if block.kind == "h2":
            out += [f"## {md_escape(block.content)}", ""]
        elif block.kind == "p":
            out += [md_escape(block.content), ""]
        elif block.kind == "list":
            out += [f"- {md_escape(item)}" for item in block.content] + [""]
        elif block.kind == "table":
            header, *rows = block.content
            out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows] + [""]
        elif block.kind == "chart":
            out += [text_bars(block.content), ""]
    return "\n".join(out).rstrip() + "\n"


def svg_bars(chart: Chart) -> str:
    top = max((v for _, v in chart.bars), default=0.0) or 1.0
    rows = []
    for i, (label, value) in enumerate(chart.bars):
        y = 24 + i * 26
        width = max(0, round((SVG_WIDTH - 180) * value / top))  # a zero is no bar, beside the axis line
        rows.append(f'<text x="0" y="{y + 14}">{html.escape(label)}</text>'
                    f'<rect x="90" y="{y}" width="{width}" height="18" fill="#2f6db0"/>'
                    f'<text x="{96 + width}" y="{y + 14}">{money(value)}</text>')  # fmt: skip
    height = 30 + 26 * len(chart.bars)
    rows.append(f'<line x1="90" y1="20" x2="90" y2="{height - 2}" stroke="#555"/>')  # the bars' zero
    name = html.escape(chart.title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{SVG_WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="12"><title>{name}</title>'
        f'<text x="0" y="14" font-weight="bold">{name}</text>{"".join(rows)}</svg>'
    )


def to_html(d: Digest) -> str:
    title, blocks = outline(d)
    out = [f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head><body>",
           f"<h1>{html.escape(title)}</h1>"]  # fmt: skip
    for block in blocks:
        if block.kind in ("h2", "p"):
            out.append(f"<{block.kind}>{html.escape(block.content)}</{block.kind}>")
        elif block.kind == "list":
            out += ["<ul>", *(f"<li>{html.escape(i)}</li>" for i in block.content), "</ul>"]
        elif block.kind == "table":
            header, *rows = block.content
            head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
            out.append(f"<table><tr>{head}</tr>{body}</table>")
        elif block.kind == "chart":
            out.append(svg_bars(block.content))
    out.append("</body></html>")
    return "\n".join(out) + "\n"

"""What a chart of a tool result shows (``chart_of``): a plain spec that figure.py draws with matplotlib.

Every picture of a result (the PNG for MCP clients without Apps, the SVG the MCP App shows, the PNG
and JSON variants of REST) comes from one ``Chart``, so they carry the same numbers and words. A
chart says what it shows: a title, the period, axis labels with units (the currency code on money),
and a legend; figure.py adds the value labels. Kinds:

- series (klaviyo_get_performance_over_time): one bar per bucket, dated, partial buckets marked;
- compare (klaviyo_compare_periods): one panel per figure, the prior and current bars of a panel on
  one axis from zero (revenue and sends differ in unit, so each figure has its own labelled axis);
- split (klaviyo_get_revenue_split): revenue per source, with its share.

This module imports no plotting library: server start-up and tool listing never pay for one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

# Series statistics in the order a chart prefers them (the first the result has).
SERIES_PREFERENCE = ("conversion_value", "recipients", "opens_unique", "clicks_unique", "conversions")
# The figures a comparison draws: key, name, unit (None: money, in the account's currency).
COMPARED: tuple[tuple[str, str, str | None], ...] = (
    ("conversion_value", "Revenue", None),
    ("sent", "Sent", "messages"),
    ("conversions", "Conversions", "conversions"),
)
# How a statistic is named on an axis, and its unit (None: money; "%": a rate).
STATISTICS: dict[str, tuple[str, str | None]] = {
    "conversion_value": ("Revenue", None),
    "average_order_value": ("Average order value", None),
    "revenue_per_recipient": ("Revenue per recipient", None),
    "recipients": ("Recipients", "people"),
    "delivered": ("Delivered", "messages"),
    "opens": ("Opens", "opens"),
    "opens_unique": ("Unique opens", "people"),
    "clicks": ("Clicks", "clicks"),
    "clicks_unique": ("Unique clicks", "people"),
    "conversions": ("Conversions", "conversions"),
    "conversion_uniques": ("Converting people", "people"),
}
BUCKET = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month"}
# Rates are averaged over rows weighted by the first of these the rows carry, never summed.
RATE_WEIGHTS = ("delivered", "recipients")


@dataclass(frozen=True)
class Bars:
    """One legend entry: a value per category (None: no data for that category)."""

    label: str
    values: tuple[float | None, ...]
    role: Literal["current", "prior", "partial", "value"] = "value"


@dataclass(frozen=True)
class Panel:
    title: str
    y_label: str  # with its unit, e.g. "Revenue (GBP)", "Sent (messages)", "Open rate (%)"
    money: bool
    percent: bool
    categories: tuple[str, ...]  # x tick labels (dates on a series)
    bars: tuple[Bars, ...]
    notes: tuple[str, ...] = ()  # a per-category suffix of the value label, e.g. a share


@dataclass(frozen=True)
class Chart:
    kind: Literal["series", "compare", "split"]
    title: str
    subtitle: str  # the account and the period(s)
    x_label: str
    panels: tuple[Panel, ...]
    currency: str | None = None  # ISO code of the money figures, when the answer states it

    def values(self) -> dict[str, Any]:
        """The chart as JSON (REST's chart variant, the MCP App): the numbers a reader checks it against."""
        return asdict(self)

    def summary(self) -> str:
        """One sentence per panel of what the chart shows (alt text, the PNG's Description)."""
        lines = [f"{self.title}. {self.subtitle}."]
        for panel in self.panels:
            parts = []
            for bars in panel.bars:
                pairs = [(c, v) for c, v in zip(panel.categories, bars.values, strict=True) if v is not None]
                if len(pairs) == 1 and bars.role in ("current", "prior"):  # a comparison: its label names it
                    parts.append(f"{bars.label}: {value_text(pairs[0][1], panel)}")
                else:
                    parts.append(f"{bars.label}: " + ", ".join(f"{c} {value_text(v, panel)}" for c, v in pairs))
            lines.append(f"{panel.y_label}: " + "; ".join(parts) + ".")
        return " ".join(lines)


def value_text(value: float | None, panel: Panel) -> str:
    """A value as its label shows it: money with two decimals, rates in percent, counts whole."""
    if value is None:
        return "no data"
    if panel.percent:
        return f"{value * 100:.2f}%"
    if panel.money:
        return f"{value:,.2f}" if value else "0"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def currency_of(envelope: dict[str, Any]) -> str | None:
    """The answer's currency code (data.currency or metadata.currency), or None when it states none."""
    for part in (envelope.get("data"), envelope.get("metadata")):
        code = part.get("currency") if isinstance(part, dict) else None
        if isinstance(code, str) and code.strip():
            return code.strip().upper()[:8]
    return None


def unit_label(name: str, unit: str | None, currency: str | None) -> str:
    if unit is None:  # money: the currency code when known, never a guessed symbol
        return f"{name} ({currency})" if currency else name
    return name if unit.lower() == name.lower() else f"{name} ({unit})"


def _period(p: dict[str, Any] | None) -> str:
    return f"{p['start_date']} to {p['end_date']}" if p and "start_date" in p and "end_date" in p else ""


def chart_of(envelope: dict[str, Any]) -> Chart | None:
    """The chart of a result, or None when it has nothing to draw."""
    data = envelope.get("data") or {}
    meta = envelope.get("metadata") or {}
    currency = currency_of(envelope)
    account = str(meta.get("account") or "")
    if "series" in data and "date_times" in data:
        return _series(data, account, _period(meta.get("period")), currency)
    if "current_totals" in data and "prior_totals" in data:
        return _compare(data, account, currency)
    if "sources" in data:
        return _split(data, account, _period(meta.get("period")), currency)
    return None


def _subtitle(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


def _compare(data: dict[str, Any], account: str, currency: str | None) -> Chart | None:
    now, before = data["current_totals"], data["prior_totals"]
    current, prior = _period(data.get("current_period")), _period(data.get("prior_period"))
    panels = []
    for key, name, unit in COMPARED:
        if not isinstance(now.get(key), int | float):
            continue
        change = ((data.get("deltas") or {}).get(key) or {}).get("pct_change")
        title = name if change is None else f"{name}: {change * 100:+.1f}%".replace("-", "−")
        values = (float(before.get(key) or 0), float(now[key]))
        panels.append(
            Panel(title, unit_label(name, unit, currency), unit is None, False, ("prior", "current"),
                  (Bars(f"prior: {prior}", (values[0], None), "prior"),
                   Bars(f"current: {current}", (None, values[1]), "current")))
        )  # fmt: skip
    if not panels:
        return None
    entity = "Campaigns" if data.get("entity") == "campaign" else "Flows"
    rule = str(data.get("comparison") or "").replace("_", " ")
    title = f"{entity}: {current} vs {prior}" if current and prior else f"{entity}: this window vs prior"
    return Chart("compare", title, _subtitle(account, rule), "period", tuple(panels), currency)


def _split(data: dict[str, Any], account: str, period: str, currency: str | None) -> Chart:
    sources = data["sources"]
    names = tuple(str(s["source"]) for s in sources)
    values = tuple(float(s["revenue"]) for s in sources)
    notes = tuple("" if s.get("share") is None else f"{s['share'] * 100:.1f}%" for s in sources)
    total = f"total {float(data.get('total_revenue') or 0):,.2f}" + (f" {currency}" if currency else "")
    legend = f"revenue, {period} ({total})" if period else f"revenue ({total})"
    panel = Panel("", unit_label("Revenue", None, currency), True, False, names, (Bars(legend, values),), notes)
    return Chart("split", "Revenue by source", _subtitle(account, period), "source", (panel,), currency)


def _series(data: dict[str, Any], account: str, period: str, currency: str | None) -> Chart | None:
    rows = data["series"]
    buckets = data.get("buckets") or []
    # A bucket's label is the first day it counts (date_times may start before the window).
    interval = str(data.get("interval") or "")
    if interval == "hourly":  # hours of the account's day: the date and the hour
        dates = [str(d)[:13].replace("T", " ") + ":00" for d in data["date_times"]]
        buckets = []
    else:
        dates = [str(b["start_date"]) for b in buckets] or [str(d)[:10] for d in data["date_times"]]
    if len(buckets) != len(dates):
        buckets = []
    if not rows or not dates:
        return None
    present = list(dict.fromkeys(stat for row in rows for stat in row["statistics"]))  # in the order asked
    if not present:
        return None
    stat = next((s for s in SERIES_PREFERENCE if s in present), present[0])
    totals = _rate_series(rows, stat, len(dates)) if stat.endswith("_rate") else _sum_series(rows, stat, len(dates))
    if all(v is None for v in totals):  # no bucket has a value: nothing to draw
        return None
    name, unit = STATISTICS.get(stat, (stat.replace("_", " ").capitalize(), None if "value" in stat else "count"))
    percent = stat.endswith("_rate")
    y_label = f"{name} (%)" if percent else unit_label(name, unit, currency)
    bucket = BUCKET.get(interval, "bucket")
    partial = tuple(bool(b.get("partial")) for b in buckets) if buckets else (False,) * len(dates)
    whole = f"whole {bucket}" if any(partial) else f"{name} per {bucket}"
    full = Bars(whole, tuple(None if p else v for v, p in zip(totals, partial, strict=True)))
    bars = [full]
    if any(partial):
        cut = tuple(v if p else None for v, p in zip(totals, partial, strict=True))
        bars.append(Bars(f"part of a {bucket} (window edge)", cut, "partial"))
    entity = "Campaigns" if data.get("entity") == "campaign" else "Flows"
    panel = Panel("", y_label, unit is None and not percent, percent, tuple(dates), tuple(bars))
    title = f"{entity}: {name.lower()} per {bucket}"
    x_label = "day" if bucket == "day" else f"{bucket} starting"
    return Chart("series", title, _subtitle(account, period), x_label, (panel,), currency)


def _sum_series(rows: list[dict[str, Any]], stat: str, n: int) -> list[float | None]:
    totals: list[float | None] = [None] * n
    for row in rows:
        for i, value in enumerate((row["statistics"].get(stat) or [])[:n]):
            if isinstance(value, int | float):
                totals[i] = (totals[i] or 0.0) + float(value)
    return totals


def _rate_series(rows: list[dict[str, Any]], stat: str, n: int) -> list[float | None]:
    """A rate across rows: weighted by deliveries (or recipients) when the rows carry them."""
    weight = next((w for w in RATE_WEIGHTS if all(w in r["statistics"] for r in rows)), None)
    sums, weights = [0.0] * n, [0.0] * n
    for row in rows:
        stats = row["statistics"]
        for i, value in enumerate((stats.get(stat) or [])[:n]):
            w = (stats[weight][i] if weight else 1) or 0
            if isinstance(value, int | float) and isinstance(w, int | float) and w > 0:
                sums[i] += float(value) * w
                weights[i] += w
    return [s / w if w else None for s, w in zip(sums, weights, strict=True)]

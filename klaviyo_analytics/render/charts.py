"""Charts of tool results: what to draw (``chart_of``), as PNG (``png.py``) or as an MCP App.

A chart is a few labelled bars taken from a result's structured content, so every adapter draws
the same chart from the same envelope: series (one bar per bucket of the first statistic, summed
over rows), comparisons (this window against the prior one) and the digest (revenue by source).
The text and structured content stay complete without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Series statistics in the order a chart prefers them (the first the result has).
SERIES_PREFERENCE = ("conversion_value", "recipients", "opens_unique", "clicks_unique", "conversions")
COMPARED = ("conversion_value", "sent", "conversions")


@dataclass(frozen=True)
class Chart:
    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    prior: tuple[float, ...] | None = None  # a second bar per label (comparisons)


def chart_of(envelope: dict[str, Any]) -> Chart | None:
    """The chart of a result, or None when it has nothing to draw."""
    data = envelope.get("data") or {}
    if "series" in data and "date_times" in data:
        return _series(data)
    if "current_totals" in data and "prior_totals" in data:
        now, before = data["current_totals"], data["prior_totals"]
        labels = tuple(k for k in COMPARED if isinstance(now.get(k), int | float))
        if not labels:
            return None
        title = f"{data.get('entity', '')} this window (dark) vs prior (light)".strip()
        current = tuple(float(now[k]) for k in labels)
        return Chart(title, labels, current, tuple(float(before.get(k) or 0) for k in labels))
    if "sources" in data:
        return Chart("revenue by source", tuple(s["source"] for s in data["sources"]),
                     tuple(float(s["revenue"]) for s in data["sources"]))  # fmt: skip
    return None


def _series(data: dict[str, Any]) -> Chart | None:
    rows = data["series"]
    dates = [str(d)[:10] for d in data["date_times"]]
    if not rows or not dates:
        return None
    present = {stat for row in rows for stat in row["statistics"]}
    stat = next((s for s in SERIES_PREFERENCE if s in present), None) or sorted(present)[0]
    totals = [0.0] * len(dates)
    for row in rows:
        for i, value in enumerate(row["statistics"].get(stat) or []):
            if i < len(totals) and isinstance(value, int | float):
                totals[i] += float(value)
    return Chart(f"{stat} per {data.get('interval', 'bucket')}", tuple(dates), tuple(totals))

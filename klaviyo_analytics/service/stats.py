"""Klaviyo report statistics and the rates derived from them.

The product requests counts and derives every rate itself, with Klaviyo's definitions, so
that rows summed across messages, chunks or periods keep correct rates, and a zero
denominator gives ``null`` instead of a misleading 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Output name -> Klaviyo statistic.
COUNTS: dict[str, str] = {
    "sent": "recipients",
    "delivered": "delivered",
    "opens": "opens_unique",
    "clicks": "clicks_unique",
    "bounces": "bounced",
    "unsubscribes": "unsubscribe_uniques",
    "spam_complaints": "spam_complaints",
    "conversions": "conversions",
    "unique_conversions": "conversion_uniques",
    "conversion_value": "conversion_value",
}
REPORT_STATISTICS: list[str] = list(COUNTS.values())

# Rate -> (numerator, denominator), both output names.
RATES: dict[str, tuple[str, str]] = {
    "open_rate": ("opens", "delivered"),
    "click_rate": ("clicks", "delivered"),
    "click_to_open_rate": ("clicks", "opens"),
    "bounce_rate": ("bounces", "sent"),
    "unsubscribe_rate": ("unsubscribes", "delivered"),
    "spam_complaint_rate": ("spam_complaints", "delivered"),
    "conversion_rate": ("unique_conversions", "delivered"),
    "revenue_per_recipient": ("conversion_value", "delivered"),
}
RATE_DIGITS = 4
VALUE_DIGITS = 2


def ratio(numerator: float, denominator: float, digits: int = RATE_DIGITS) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def counts_from_statistics(statistics: Mapping[str, object]) -> dict[str, float]:
    """Map one report result's statistics onto output count names (missing → 0)."""
    counts = {}
    for name, stat in COUNTS.items():
        value = statistics.get(stat)
        counts[name] = float(value) if isinstance(value, int | float) else 0.0
    return counts


def add_counts(total: dict[str, float], more: Mapping[str, float]) -> dict[str, float]:
    for name in COUNTS:
        total[name] = total.get(name, 0.0) + more.get(name, 0.0)
    return total


def sum_counts(rows: Iterable[Mapping[str, float]]) -> dict[str, float]:
    total: dict[str, float] = dict.fromkeys(COUNTS, 0.0)
    for row in rows:
        add_counts(total, row)
    return total


def with_rates(counts: Mapping[str, float]) -> dict[str, float | None]:
    """Counts plus every derived rate (revenue per recipient in currency, rounded to cents)."""
    out: dict[str, float | None] = {name: round(counts.get(name, 0.0), VALUE_DIGITS) for name in COUNTS}
    for rate, (numerator, denominator) in RATES.items():
        digits = VALUE_DIGITS if rate == "revenue_per_recipient" else RATE_DIGITS
        out[rate] = ratio(counts.get(numerator, 0.0), counts.get(denominator, 0.0), digits)
    return out

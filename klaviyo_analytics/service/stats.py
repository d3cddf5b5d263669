"""Klaviyo report statistics and the rates derived from them.

The product requests counts and derives every rate itself, with Klaviyo's definitions, so
that rows summed across messages, chunks or periods keep correct rates, and a zero
denominator gives ``null`` instead of a misleading 0.

Numbers are shown the way people read them, by one rule everywhere (series included): counts
are integers, money has cents (``VALUE_DIGITS``), every rate has ``RATE_DIGITS`` decimals. A
rate that does not apply — SMS has no opens — is ``null``, and ``not_applicable`` says why;
rows that mix channels take open rates over the channels that track opens only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from klaviyo_analytics.rules.bands import row_health

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
# Amounts of money; every other count is a whole number.
MONEY = {"conversion_value", "revenue_per_recipient", "average_order_value"}
# Channels whose messages have no opens (Klaviyo tracks opens for email and push, not SMS).
OPENLESS_CHANNELS = {"sms": "SMS has no opens"}
# Internal tallies (never shown): deliveries and clicks of openless channels, so an open rate
# over a mixed row divides by the deliveries that could be opened.
# Email deliveries, too: health bands judge email only (klaviyo_analytics/rules/bands.py).
OPENLESS = ("openless_delivered", "openless_clicks")
TALLIES: tuple[str, ...] = (*COUNTS, *OPENLESS, "email_delivered")
OPEN_RATES = ("open_rate", "click_to_open_rate")

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


def number(name: str, value: float | None) -> int | float | None:
    """One statistic as people read it: a rate to RATE_DIGITS, money to cents, a count as an integer."""
    if value is None:
        return None
    if name in MONEY:
        return round(value, VALUE_DIGITS)
    if name.endswith("_rate"):
        return round(value, RATE_DIGITS)
    return round(value)


def counts_from_statistics(statistics: Mapping[str, object], channel: str | None = None) -> dict[str, float]:
    """Map one report result's statistics onto output count names (missing → 0)."""
    counts = {}
    for name, stat in COUNTS.items():
        value = statistics.get(stat)
        counts[name] = float(value) if isinstance(value, int | float) else 0.0
    openless = channel in OPENLESS_CHANNELS
    if openless:
        counts["opens"] = 0.0  # whatever a report says, an SMS is never opened
    counts["openless_delivered"] = counts["delivered"] if openless else 0.0
    counts["openless_clicks"] = counts["clicks"] if openless else 0.0
    counts["email_delivered"] = counts["delivered"] if channel in ("email", None) else 0.0
    return counts


def add_counts(total: dict[str, float], more: Mapping[str, float]) -> dict[str, float]:
    for name in TALLIES:
        total[name] = total.get(name, 0.0) + more.get(name, 0.0)
    return total


def sum_counts(rows: Iterable[Mapping[str, float]]) -> dict[str, float]:
    total: dict[str, float] = dict.fromkeys(TALLIES, 0.0)
    for row in rows:
        add_counts(total, row)
    return total


def with_rates(counts: Mapping[str, float]) -> dict[str, int | float | None]:
    """Counts plus every derived rate (revenue per recipient in currency, rounded to cents)."""
    out: dict[str, int | float | None] = {name: number(name, counts.get(name, 0.0)) for name in COUNTS}
    for rate, (numerator, denominator) in RATES.items():
        digits = VALUE_DIGITS if rate in MONEY else RATE_DIGITS
        out[rate] = ratio(counts.get(numerator, 0.0), counts.get(denominator, 0.0), digits)
    # Opens exist only where the channel tracks them.
    tracked = counts.get("delivered", 0.0) - counts.get("openless_delivered", 0.0)
    out["open_rate"] = ratio(counts.get("opens", 0.0), tracked)
    out["click_to_open_rate"] = ratio(counts.get("clicks", 0.0) - counts.get("openless_clicks", 0.0),
                                      counts.get("opens", 0.0))  # fmt: skip
    return out


def not_applicable(counts: Mapping[str, float]) -> dict[str, str]:
    """Rates that are null because they do not apply (not because nothing happened), with the reason."""
    tracked = counts.get("delivered", 0.0) - counts.get("openless_delivered", 0.0)
    if counts.get("openless_delivered", 0.0) and not tracked:
        return dict.fromkeys(OPEN_RATES, OPENLESS_CHANNELS["sms"])
    return {}


def row_stats(counts: Mapping[str, float]) -> dict[str, object]:
    """The fields of a performance row: counts, rates, the reasons for rates that do not apply, and
    the rates' health bands (klaviyo_analytics/rules/bands.py)."""
    rates = with_rates(counts)
    return {**rates, "not_applicable": not_applicable(counts), "health": row_health(counts, rates)}

"""Klaviyo's report statistics from summed event counts.

Rates follow Klaviyo's definitions, computed from the summed counts of a group; a zero
denominator gives 0.0 (as Klaviyo returns):

    open_rate = opens_unique / delivered          click_rate = clicks_unique / delivered
    click_to_open_rate = clicks_unique / opens_unique
    bounce_rate = bounced / recipients            delivery_rate = delivered / recipients
    unsubscribe_rate = unsubscribe_uniques / delivered
    spam_complaint_rate = spam_complaints / delivered
    conversion_rate = conversion_uniques / delivered
    revenue_per_recipient = conversion_value / delivered
    average_order_value = conversion_value / conversions
    failed_rate = failed / recipients             bounced_or_failed_rate = (bounced + failed) / recipients

SMS cost: one credit per 160-character segment per recipient at $0.01; ``text_message_roi`` is
conversion value per unit of spend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

COUNTS = (
    "recipients",
    "bounced",
    "failed",
    "opens",
    "opens_unique",
    "clicks",
    "clicks_unique",
    "spam_complaints",
    "unsubscribes",
    "unsubscribe_uniques",
    "conversions",
    "conversion_uniques",
    "conversion_value",
)
CREDIT_PRICE = 0.01


def statistics(c: dict[str, int], requested: Sequence[str]) -> dict[str, int | float]:
    """Klaviyo's statistics from summed counts (``conversion_value`` in cents, ``credits`` SMS segments)."""

    def ratio(num: float, den: float) -> float:
        return num / den if den else 0.0

    value = c["conversion_value"] / 100
    delivered = c["recipients"] - c["bounced"] - c["failed"]
    spend = round(c["credits"] * CREDIT_PRICE, 2)
    derived: dict[str, Callable[[], int | float]] = {
        "delivered": lambda: delivered,
        "conversion_value": lambda: value,
        "bounced_or_failed": lambda: c["bounced"] + c["failed"],
        "bounced_or_failed_rate": lambda: ratio(c["bounced"] + c["failed"], c["recipients"]),
        "failed_rate": lambda: ratio(c["failed"], c["recipients"]),
        "open_rate": lambda: ratio(c["opens_unique"], delivered),
        "click_rate": lambda: ratio(c["clicks_unique"], delivered),
        "click_to_open_rate": lambda: ratio(c["clicks_unique"], c["opens_unique"]),
        "bounce_rate": lambda: ratio(c["bounced"], c["recipients"]),
        "delivery_rate": lambda: ratio(delivered, c["recipients"]),
        "unsubscribe_rate": lambda: ratio(c["unsubscribe_uniques"], delivered),
        "spam_complaint_rate": lambda: ratio(c["spam_complaints"], delivered),
        "conversion_rate": lambda: ratio(c["conversion_uniques"], delivered),
        "revenue_per_recipient": lambda: ratio(value, delivered),
        "average_order_value": lambda: ratio(value, c["conversions"]),
        "message_segment_count_sum": lambda: c["credits"],
        "text_message_credit_usage_amount": lambda: c["credits"],
        "text_message_spend": lambda: spend,
        "text_message_roi": lambda: ratio(value, spend),
    }
    return {name: derived[name]() if name in derived else c[name] for name in requested}

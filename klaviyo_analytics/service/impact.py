"""What a change is worth in money: the current window against the prior window's own pace.

An anomaly's ``impact`` is the revenue the current window made (or missed) because the metric
moved, priced at the prior window's value of one unit of that metric, in the account's currency:

- counts: ``sent`` at the prior revenue per send, ``conversions`` at the prior order value,
  ``conversion_value`` as itself; the prior count is first scaled to the current window's length;
- rates: the change in the rate times the current window's trials (deliveries, or sends for
  bounces) times the prior value of one success (revenue per open, per click, per converting
  person); an extra unsubscribe or bounce is priced at one delivery's revenue (a lower bound:
  the profile's later sends are lost too);
- a flow that stopped sending: the prior revenue, scaled; one that stopped converting: the
  current deliveries at the prior revenue per delivery.

It ranks findings by what they cost or earned. Where the prior window earned nothing, a change
is worth 0; the rank then falls back to the p-value.
"""

from __future__ import annotations

from collections.abc import Mapping

from klaviyo_analytics.service.stats import RATES

# Rate -> the count whose prior value per unit prices one success of the rate (None: a loss, priced
# at one delivery's revenue).
_PER_SUCCESS = {
    "open_rate": "opens",
    "click_rate": "clicks",
    "conversion_rate": "unique_conversions",
    "unsubscribe_rate": None,
    "bounce_rate": None,
}
# Count -> the count its prior value per unit is taken over.
_PER_COUNT = {"sent": "sent", "delivered": "delivered", "conversions": "conversions"}
BASIS = {
    "sent": "change in sends × prior revenue per send",
    "delivered": "change in deliveries × prior revenue per delivery",
    "conversions": "change in conversions × prior order value",
    "conversion_value": "change in revenue",
    "open_rate": "change in open rate × deliveries × prior revenue per open",
    "click_rate": "change in click rate × deliveries × prior revenue per click",
    "conversion_rate": "change in conversion rate × deliveries × prior revenue per converting person",
    "unsubscribe_rate": "extra unsubscribes × prior revenue per delivery (a lower bound)",
    "bounce_rate": "extra bounces × prior revenue per delivery (a lower bound)",
    "stopped_sending": "the prior window's revenue, not made",
    "stopped_converting": "deliveries × prior revenue per delivery, not made",
}


def _money(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0: no "-0.0" when nothing was at stake


def _per(value: float, units: float) -> float:
    return value / units if units > 0 else 0.0


def change_impact(metric: str, now: Mapping[str, float], before: Mapping[str, float], days: tuple[int, int]) -> float:
    """Revenue gained (+) or lost (−) by ``metric``'s move, priced at the prior window's rates."""
    value = before.get("conversion_value", 0.0)
    scale = days[0] / days[1] if days[1] > 0 else 1.0
    if metric == "conversion_value":
        return _money(now.get("conversion_value", 0.0) - value * scale)
    if metric in _PER_COUNT:
        unit = _PER_COUNT[metric]
        moved = now.get(unit, 0.0) - before.get(unit, 0.0) * scale
        return _money(moved * _per(value, before.get(unit, 0.0)))
    numerator, denominator = RATES[metric]
    trials_now, trials_before = now.get(denominator, 0.0), before.get(denominator, 0.0)
    moved = _per(now.get(numerator, 0.0), trials_now) - _per(before.get(numerator, 0.0), trials_before)
    success = _PER_SUCCESS.get(metric)
    if success is None:  # more unsubscribes or bounces: each a delivery lost
        return _money(-moved * trials_now * _per(value, before.get("delivered", 0.0)))
    return _money(moved * trials_now * _per(value, before.get(success, 0.0)))


def stopped_impact(kind: str, now: Mapping[str, float], before: Mapping[str, float], days: tuple[int, int]) -> float:
    value = before.get("conversion_value", 0.0)
    if kind == "stopped_sending":
        return _money(-value * (days[0] / days[1] if days[1] > 0 else 1.0))
    return _money(-now.get("delivered", 0.0) * _per(value, before.get("delivered", 0.0)))

"""The digest prints rates with the digits the change it reports needs, and money with its currency."""

from __future__ import annotations

from klaviyo_analytics.render.digest import anomaly_line, rate_digits
from klaviyo_analytics.service.money import format_money


def test_a_rate_change_is_printed_with_digits_that_show_it() -> None:
    # 0.10% → 0.24% is +140%: one decimal ("0.1%" → "0.2%") would say +100%.
    assert rate_digits(0.0024, 0.001, 1.4) == 2
    assert rate_digits(0.352, 0.251, 0.4024) == 1  # large rates: one decimal is enough
    line = anomaly_line({"kind": "change", "name": "Welcome", "metric": "unsubscribe_rate", "current": 0.0024,
                         "prior": 0.001, "pct_change": 1.4, "current_volume": 5000, "prior_volume": 5200,
                         "p_value": 0.0004, "impact": -12.5}, "GBP")  # fmt: skip
    assert "0.24% this week, 0.10% last week (+140.0%" in line
    assert "volumes 5,000 vs 5,200" in line and "p = 0.0004" in line and "impact −£12.50" in line


def test_money_is_written_in_its_currency() -> None:
    assert format_money(1234.5, "GBP") == "£1,234.50"
    assert format_money(1234.5, "USD") == "$1,234.50"
    assert format_money(-3, "EUR") == "−€3.00"
    assert format_money(1234.5, "CHF") == "1,234.50 CHF"
    assert format_money(1234.6, "JPY") == "¥1,235"
    assert format_money(1234.5, None) == "1,234.50"  # unknown: no symbol guessed

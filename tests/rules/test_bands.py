"""Health bands: Klaviyo's published targets, their edges, email only, with the source shown."""

from __future__ import annotations

import pytest

from klaviyo_analytics.rules.bands import ATTENTION, HEALTHY, IMPROVE, MIN_BAND_DELIVERIES, BandsSource, band, worst
from klaviyo_analytics.service import stats


@pytest.mark.parametrize(
    ("rate", "value", "expected"),
    [
        ("bounce_rate", 0.0099, HEALTHY), ("bounce_rate", 0.01, IMPROVE), ("bounce_rate", 0.02, IMPROVE),
        ("bounce_rate", 0.0201, ATTENTION),
        ("spam_complaint_rate", 0.00009, HEALTHY), ("spam_complaint_rate", 0.0003, IMPROVE),
        ("spam_complaint_rate", 0.0006, ATTENTION),
        ("unsubscribe_rate", 0.002, HEALTHY), ("unsubscribe_rate", 0.005, IMPROVE), ("unsubscribe_rate", 0.011, ATTENTION),
        ("open_rate", 0.34, HEALTHY), ("open_rate", 0.33, IMPROVE), ("open_rate", 0.27, IMPROVE),
        ("open_rate", 0.2699, ATTENTION),
        ("click_rate", 0.013, HEALTHY), ("click_rate", 0.01, IMPROVE), ("click_rate", 0.0079, ATTENTION),
        ("conversion_rate", 0.5, None), ("open_rate", None, None),
    ],
)  # fmt: skip
def test_bands_at_their_edges(rate: str, value: float | None, expected: str | None) -> None:
    assert band(rate, value) == expected


def counts(channel: str, delivered: int, opens: int) -> dict[str, float]:
    statistics = {"recipients": delivered + 5, "delivered": delivered, "opens_unique": opens, "clicks_unique": 20,
                  "bounced": 5, "unsubscribe_uniques": 1, "spam_complaints": 0}  # fmt: skip
    return stats.counts_from_statistics(statistics, channel)


def test_email_rows_are_banded_sms_and_tiny_rows_are_not() -> None:
    email = stats.row_stats(counts("email", 1000, 400))
    assert email["health"] == {
        "bounce_rate": HEALTHY, "spam_complaint_rate": HEALTHY, "unsubscribe_rate": HEALTHY, "open_rate": HEALTHY,
        "click_rate": HEALTHY,
    }  # fmt: skip
    assert stats.row_stats(counts("email", 1000, 200))["health"]["open_rate"] == ATTENTION
    assert stats.row_stats(counts("sms", 1000, 0))["health"] == {}
    assert stats.row_stats(counts("email", MIN_BAND_DELIVERIES - 1, 40))["health"] == {}
    mixed = stats.sum_counts([counts("email", 1000, 400), counts("sms", 1000, 0)])
    assert stats.row_stats(mixed)["health"] == {}  # bounce and click rates over SMS too: not email's bands


def test_the_source_and_the_apple_mpp_flag_travel_with_the_bands() -> None:
    source = BandsSource().model_dump()
    assert source["source"].startswith("https://help.klaviyo.com/") and source["updated"] and source["read"]
    assert source["bands"]["open_rate"] == [0.33, 0.27]
    assert "Apple Mail Privacy Protection" in source["apple_mpp"]
    assert worst({"open_rate": HEALTHY, "bounce_rate": ATTENTION, "click_rate": IMPROVE}) == ATTENTION
    assert worst({}) is None

"""The statistics and URL rules behind the engagement tools."""

from __future__ import annotations

import pytest

from klaviyo_analytics.rules.correlation import correlate, ranks
from klaviyo_analytics.rules.significance import sample_per_group
from klaviyo_analytics.rules.tracking_params import strip_tracking


def test_sample_size_matches_the_textbook_two_proportion_formula() -> None:
    # 10% vs 11% at alpha 0.05 two-sided, power 0.8: 14,751 per group (Fleiss, normal approximation).
    assert sample_per_group(0.10, 0.11) == 14751
    assert sample_per_group(0.10, 0.10) is None and sample_per_group(0.0, 0.1) is None
    assert sample_per_group(0.10, 0.11, alpha=0.025) > 14751  # a stricter level needs more


def test_ranks_average_ties() -> None:
    assert ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]


def test_correlation_words_and_guards() -> None:
    rising = correlate([1, 2, 3, 4, 5, 6], [1.1, 1.9, 3.2, 3.9, 5.1, 6.0])
    assert rising.strength == "a strong" and rising.direction == "positive" and rising.p_value < 0.01
    assert rising.spearman == pytest.approx(1.0)
    flat = correlate([1, 2, 3, 4, 5], [2, 2, 2, 2, 2])  # a constant series has no correlation
    assert flat.pearson is None and flat.strength == "no"
    few = correlate([1, 2, 3], [3, 2, 1])
    assert few.strength == "too few weeks" and few.p_value is None


def test_tracking_parameters_are_stripped_and_named() -> None:
    url = "HTTPS://Shop.example/collections/new?utm_source=klaviyo&variant=2&_kx=abc.XYZ&fbclid=1#top"
    assert strip_tracking(url) == (
        "https://shop.example/collections/new?variant=2#top",
        ["utm_source", "_kx", "fbclid"],
    )
    assert strip_tracking("https://shop.example?utm_medium=email") == ("https://shop.example/", ["utm_medium"])
    assert strip_tracking("https://shop.example/p") == ("https://shop.example/p", [])

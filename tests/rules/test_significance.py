"""The two significance tests behind klaviyo_find_anomalies, against values computed by hand (and scipy's)."""

from __future__ import annotations

import math

import pytest

from klaviyo_analytics.rules.significance import (
    MIN_EVENTS,
    none_expected,
    normal_two_sided,
    poisson_counts,
    two_proportions,
)


def test_the_normal_tail_is_the_textbook_one() -> None:
    assert normal_two_sided(0) == 1.0
    assert normal_two_sided(1.959964) == pytest.approx(0.05, abs=1e-6)
    assert normal_two_sided(-2.575829) == pytest.approx(0.01, abs=1e-6)


def test_two_proportions_matches_the_pooled_z_test() -> None:
    # 1/1000 vs 3/1250 unsubscribes: the "Win-back +140%" of issue 22, which is noise.
    assert two_proportions(1, 1000, 3, 1250) is None  # 4 events: too few to test at all
    # 60/1000 vs 30/1000: pooled 0.045, z = 0.03 / sqrt(0.045*0.955*0.002) = 3.2359...
    z = 0.03 / math.sqrt(0.045 * 0.955 * 0.002)
    assert two_proportions(60, 1000, 30, 1000) == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert two_proportions(60, 1000, 30, 1000) < 0.01  # type: ignore[operator]
    assert two_proportions(12, 1000, 10, 1000) > 0.5  # type: ignore[operator]
    assert two_proportions(5, 5, 5, 5) == 1.0
    assert two_proportions(3, 0, 9, 10) is None


def test_poisson_counts_is_the_conditional_binomial_test() -> None:
    # 700 vs 1000 over equal weeks: share 0.5 of 1700, z = (150 - 0.5) / sqrt(425) = 7.25
    assert poisson_counts(700, 7, 1000, 7) == pytest.approx(math.erfc((149.5 / math.sqrt(425)) / math.sqrt(2)))
    assert poisson_counts(52, 7, 40, 7) > 0.2  # type: ignore[operator]  # +30% on a small count: noise
    assert poisson_counts(60, 14, 30, 7) > 0.9  # type: ignore[operator]  # the same daily rate over twice the days
    assert poisson_counts(MIN_EVENTS - 1, 7, 0, 7) is None


def test_a_zero_is_significant_only_when_events_were_expected() -> None:
    assert none_expected(0.01, 1000) == pytest.approx(math.exp(-10))
    assert none_expected(0.001, 200) > 0.5

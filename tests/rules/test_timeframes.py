from __future__ import annotations

import itertools
from datetime import date

import pytest

from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.rules.timeframes import PRESETS, Period, add_years, chunk, preset_period, resolve_period

TODAY = date(2026, 3, 15)


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("today", date(2026, 3, 15), date(2026, 3, 15)),
        ("yesterday", date(2026, 3, 14), date(2026, 3, 14)),
        ("last_7_days", date(2026, 3, 8), date(2026, 3, 14)),
        ("last_30_days", date(2026, 2, 13), date(2026, 3, 14)),
        ("last_90_days", date(2025, 12, 15), date(2026, 3, 14)),
        ("last_365_days", date(2025, 3, 15), date(2026, 3, 14)),
        ("this_month", date(2026, 3, 1), date(2026, 3, 15)),
        ("last_month", date(2026, 2, 1), date(2026, 2, 28)),
        ("year_to_date", date(2026, 1, 1), date(2026, 3, 15)),
    ],
)
def test_presets(preset: str, start: date, end: date) -> None:
    assert preset_period(preset, TODAY) == Period(start, end)
    assert preset in PRESETS


def test_window_rules() -> None:
    assert resolve_period(date(2026, 1, 1), date(2026, 1, 31), None, TODAY) == Period(
        date(2026, 1, 1), date(2026, 1, 31)
    )
    cases = [
        ((date(2026, 1, 1), date(2026, 1, 2), "today"), "timeframe", "not both"),
        ((None, None, None), "timeframe", "window is required"),
        ((date(2026, 1, 1), None, None), "end_date", "go together"),
        ((date(2026, 2, 1), date(2026, 1, 1), None), "end_date", "before"),
        ((date(2019, 1, 1), date(2026, 1, 1), None), "end_date", "5 years"),
        ((date(1999, 1, 1), date(2000, 1, 1), None), "start_date", "between"),
    ]
    for (start, end, preset), field, needle in cases:
        with pytest.raises(InvalidArgumentError, match=needle) as caught:
            resolve_period(start, end, preset, TODAY)
        assert caught.value.field == field
    with pytest.raises(InvalidArgumentError) as bad_preset:
        preset_period("fortnight", TODAY)
    assert bad_preset.value.details["allowed"] == list(PRESETS)
    assert resolve_period(None, None, None, TODAY, required=False) is None


def test_chunks_cover_the_window_exactly_within_a_year_each() -> None:
    period = Period(date(2023, 2, 10), date(2026, 1, 5))
    parts = chunk(period)
    assert parts[0].start == period.start and parts[-1].end == period.end
    for a, b in itertools.pairwise(parts):
        assert (b.start - a.end).days == 1
    assert all(p.end < add_years(p.start, 1) for p in parts)
    assert len(parts) == 3
    assert chunk(Period(date(2025, 3, 15), date(2026, 3, 14))) == [Period(date(2025, 3, 15), date(2026, 3, 14))]


def test_period_helpers() -> None:
    p = Period(date(2026, 3, 1), date(2026, 3, 31))
    assert p.klaviyo_timeframe() == {"start": "2026-03-01T00:00:00", "end": "2026-04-01T00:00:00"}
    assert p.preceding() == Period(date(2026, 1, 29), date(2026, 2, 28))
    assert p.days == 31
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)

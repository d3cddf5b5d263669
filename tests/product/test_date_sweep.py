"""The date sweep: the calendar-sensitive behaviour on the product and the sandbox pinned to each of
a fixed list of instants (month ends, a leap day, New Year's night, the DST nights of New York and
London, week edges). One sandbox per date, shared by that date's checks; random instants in
2026–2031 run under ``make fuzz`` (test_date_sweep_fuzz.py)."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import untraced
from tests.product.datesweep import CHECKS, World, as_utc, world_at

MONTH_ENDS = [f"2027-{m:02d}-{calendar.monthrange(2027, m)[1]:02d}" for m in range(1, 13)]
SWEEP = [
    *MONTH_ENDS,
    "2028-02-29",
    "2026-12-31T23:40:00Z",  # year end, late evening in London, afternoon in New York
    "2027-01-01T00:20:00Z",  # New Year in London, still 31 December in New York
    "2027-03-14T06:30:00Z",  # New York springs forward (01:30 EST, the night of the change)
    "2027-03-28T01:30:00Z",  # London springs forward at 01:00 UTC
    "2027-10-31T01:30:00Z",  # London falls back at 01:00 UTC
    "2027-11-07T06:30:00Z",  # New York falls back (01:30 EST, after the repeated hour)
    "2027-06-13",  # a Sunday: the week ends today
    "2027-06-14",  # a Monday: a new week starts today
]


@pytest.fixture(scope="module", params=SWEEP)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    directory: Path = tmp_path_factory.mktemp("sweep")
    # Seeding a world is measured by the sandbox's own tests; what the sweep measures is the checks.
    with untraced(request.config):
        return world_at(as_utc(request.param), directory)


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_calendar_on_every_sweep_date(world: World, check: Callable[[World], None]) -> None:
    check(world)

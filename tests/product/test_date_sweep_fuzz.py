"""The date sweep on random instants in 2026–2031 (hypothesis). Marked ``fuzz``: ``make test`` leaves
it out (it runs the fixed sweep, test_date_sweep.py) and ``make fuzz`` runs it with
DATE_SWEEP_EXAMPLES instants; a plain ``pytest`` run tries one."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.product.datesweep import CHECKS, world_at

EXAMPLES = int(os.environ.get("DATE_SWEEP_EXAMPLES", "1"))

pytestmark = pytest.mark.fuzz

INSTANTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2031, 12, 31, 23, 59), timezones=st.just(UTC)
)


@settings(max_examples=max(EXAMPLES, 1), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instant=INSTANTS)
def test_calendar_on_random_instants(instant: datetime) -> None:
    world = world_at(instant)
    for check in CHECKS:
        check(world)

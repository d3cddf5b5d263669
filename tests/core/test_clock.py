"""The one clock: pinned instants parse strictly, shifted time runs from its start, manual time moves on demand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from klaviyo_analytics.clock import SYSTEM_CLOCK, ManualClock, ShiftedClock, clock_for, pinned
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.service import build_service
from tests.helpers import ONE_ACCOUNT, make_settings


def test_a_pinned_date_is_noon_utc_and_an_instant_keeps_its_offset() -> None:
    assert pinned("2028-02-29") == datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert pinned("2027-03-28T01:30:00Z") == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert pinned("2027-11-07T01:30:00-05:00") == datetime(2027, 11, 7, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2027-02-30", "tomorrow", "2027-03-28T01:30:00", ""])
def test_a_bad_pin_names_the_forms_allowed(text: str) -> None:
    with pytest.raises(ValueError, match=r"YYYY-MM-DD|UTC offset"):
        pinned(text)


def test_shifted_clock_starts_at_its_pin_and_runs_forward() -> None:
    clock = ShiftedClock(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
    first = clock.now()
    assert first >= datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert clock.now() >= first
    assert clock.today() in (date(2026, 12, 31), date(2027, 1, 1))
    assert abs(clock.time() - clock.now().timestamp()) < 1


def test_manual_clock_moves_only_when_told_and_sleep_advances_it() -> None:
    clock = ManualClock(datetime(2027, 3, 28, 0, 59, tzinfo=UTC))
    mono = clock.monotonic()
    clock.sleep(120)
    assert clock.now() == datetime(2027, 3, 28, 1, 1, tzinfo=UTC)
    assert clock.monotonic() == mono + 120
    clock.step_wall(-3600)  # the wall clock steps back; monotonic time does not
    assert clock.now() == datetime(2027, 3, 28, 0, 1, tzinfo=UTC)
    assert clock.monotonic() == mono + 120
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_clock_for_is_the_system_clock_unless_pinned() -> None:
    assert clock_for(None) is SYSTEM_CLOCK
    assert clock_for("2027-06-15").today() == date(2027, 6, 15)


def test_klaviyo_mcp_today_pins_the_service_and_a_bad_value_names_the_setting(tmp_path: Path) -> None:
    service = build_service(make_settings(tmp_path, KLAVIYO_MCP_TODAY="2028-02-29"))
    assert service.today() == date(2028, 2, 29) and service.client.clock is service.clock
    new_york = {"acme": {**ONE_ACCOUNT["acme"], "timezone": "America/New_York"}}
    night = build_service(make_settings(tmp_path, new_york, KLAVIYO_MCP_TODAY="2027-01-01T00:20:00Z"))
    assert night.today() == date(2027, 1, 1)
    assert night.today(night.account("acme")) == date(2026, 12, 31)  # New York is still in the old year
    with pytest.raises(ConfigError, match="KLAVIYO_MCP_TODAY"):
        make_settings(tmp_path, KLAVIYO_MCP_TODAY="2027-02-30")


def test_the_sandbox_cli_takes_today_anchor_and_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from klaviyo_sandbox.__main__ import _parser

    assert _parser().parse_args(["--today", "2028-02-29"]).today.today() == date(2028, 2, 29)
    assert _parser().parse_args(["--anchor", "2027-10-31"]).today.today() == date(2027, 10, 31)
    monkeypatch.setenv("KLAVIYO_MCP_TODAY", "2027-06-14")
    assert _parser().parse_args([]).today.today() == date(2027, 6, 14)
    monkeypatch.delenv("KLAVIYO_MCP_TODAY")
    assert _parser().parse_args([]).today is SYSTEM_CLOCK

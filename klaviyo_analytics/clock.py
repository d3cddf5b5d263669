"""The one source of "now" for the product, the sandbox, the demo and the tests.

Every reading of time goes through a :class:`Clock`: ``now()`` (a timezone-aware UTC instant),
``time()`` (the same instant as epoch seconds), ``monotonic()`` (for waits and deadlines, never
for dates) and ``sleep()``. Three clocks:

- :class:`SystemClock` — the machine's clocks, unchanged (production).
- :class:`ShiftedClock` — wall time that *starts* at a pinned instant and then runs at real speed,
  measured on the monotonic clock. A demo, a benchmark or a test that pins "today" uses it, so its
  history, its presets and its answers are the same whichever day it runs, while waits stay real.
  Because its wall time is derived from the monotonic clock, a step of the machine's wall clock
  (NTP, a DST change in a local-time VM, a faked clock) cannot make its wall and monotonic
  readings disagree.
- :class:`ManualClock` — time that moves only when told (``advance``); ``sleep`` advances it.
  For unit tests of pacing, expiry and freshness.

``pinned(text)`` parses the ``YYYY-MM-DD`` or ISO-instant form used by ``--today`` options and
settings; a date alone means noon UTC of that date, so "today" is that date in every timezone
from UTC-11 to UTC+11.
"""

from __future__ import annotations

import threading
import time as _time
from datetime import UTC, date, datetime, timedelta


class Clock:
    """Wall and monotonic time, read through one object so tests and demos can replace both."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return self.now().timestamp()

    def shared_time(self) -> float:
        """Epoch seconds for expiries and windows kept where other processes read them (the quota
        store, the cache, OAuth grants). Same as ``time()`` except on a pinned clock, whose offset
        is private to its process: there the machine's time keeps every process on one timeline."""
        return self.time()

    def monotonic(self) -> float:
        return _time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            _time.sleep(seconds)

    def today(self) -> date:
        """Today's date in UTC (an account's own "today" comes from ``now()`` in its timezone)."""
        return self.now().date()


class SystemClock(Clock):
    """The machine's clocks (the default everywhere)."""

    def time(self) -> float:
        return _time.time()


class ShiftedClock(Clock):
    """Wall time starting at ``start`` and advancing with the monotonic clock."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ShiftedClock needs a timezone-aware start")
        self.start = start.astimezone(UTC)
        self._origin = _time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=_time.monotonic() - self._origin)

    def shared_time(self) -> float:
        return _time.time()


class ManualClock(Clock):
    """Time that moves only by ``advance`` (or ``sleep``, which advances instead of waiting)."""

    def __init__(self, start: datetime, monotonic_start: float = 1000.0) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._wall = start.astimezone(UTC)
        self._mono = monotonic_start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not run backwards on a ManualClock; use step_wall for that")
        with self._lock:
            self._wall += timedelta(seconds=seconds)
            self._mono += seconds

    def step_wall(self, seconds: float) -> None:
        """Move the wall clock alone (forwards or backwards), as NTP or a faked clock can."""
        with self._lock:
            self._wall += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)


SYSTEM_CLOCK = SystemClock()


def pinned(text: str) -> datetime:
    """``YYYY-MM-DD`` (noon UTC of that date) or an ISO instant with an offset, as an aware UTC datetime."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO instant (2027-03-28T01:30:00Z)") from None
    if instant.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; add Z or +00:00")
    return instant.astimezone(UTC)


def clock_for(today: str | None) -> Clock:
    """The system clock, or a :class:`ShiftedClock` starting at ``today`` when one is pinned."""
    return SYSTEM_CLOCK if not today else ShiftedClock(pinned(today))


def pinned_on(day: date) -> Clock:
    """A :class:`ShiftedClock` from noon (UTC) of ``day``: "today" is ``day`` in every timezone within ±11 h."""
    return ShiftedClock(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))

"""Report timeframes and time buckets, in the account's (or the request's) timezone.

Preset keys resolve in the account timezone relative to the sandbox's "now". Choices where
Klaviyo's docs are silent: ``last_N_days`` and ``last_N_months`` are whole days ending at the
start of today (today excluded); weeks start on Monday; ``today``/``this_*`` run to the end of
the current period. A custom ``{start, end}`` ignores its offset and is read in the account
timezone, as the 2026-07-15 spec says. A timeframe may span at most one year ("Max length: 1
year"): it ends no later than the same date and time a calendar year after it starts, so 366
days pass only across a 29 February.

Series buckets are aligned to the calendar in that timezone (hours, midnights, Mondays, the 1st
of the month); the first bucket is labelled with its aligned start and counts from the
timeframe's start.
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from klaviyo_sandbox.jsonapi import invalid
from klaviyo_sandbox.series import HOUR

MAX_SPAN = timedelta(days=366)
TIMEFRAME_POINTER = "/data/attributes/timeframe"

# Reporting API series intervals, their bucket unit and the longest timeframe each allows.
SERIES_INTERVALS: dict[str, tuple[str, timedelta]] = {
    "hourly": ("hour", timedelta(days=7)),
    "daily": ("day", timedelta(days=60)),
    "weekly": ("week", MAX_SPAN),
    "monthly": ("month", timedelta(weeks=52)),
}


def _midnight(moment: datetime) -> datetime:
    tz = moment.tzinfo
    return datetime.combine(moment.date(), time(), tz)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(
        moment.day,
        [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][
            month
        ],
    )
    return moment.replace(year=year, month=month + 1, day=day)


def longer_than_a_year(start: datetime, end: datetime) -> bool:
    """Past one calendar year: 2025-01-01..2026-01-01 is a year, ..2026-01-02 (366 days) is not."""
    return end > _add_months(start, 12)


def _days(moment: datetime, days: int) -> datetime:
    """Wall-clock day arithmetic (DST-safe: midnight stays midnight)."""
    return datetime.combine(moment.date() + timedelta(days=days), moment.timetz().replace(tzinfo=None), moment.tzinfo)


def preset(key: str, now: datetime) -> tuple[datetime, datetime]:
    today = _midnight(now)
    month = today.replace(day=1)
    week = _days(today, -today.weekday())
    year = month.replace(month=1)
    table: dict[str, tuple[datetime, datetime]] = {
        "today": (today, _days(today, 1)),
        "yesterday": (_days(today, -1), today),
        "last_7_days": (_days(today, -7), today),
        "last_30_days": (_days(today, -30), today),
        "last_90_days": (_days(today, -90), today),
        "last_365_days": (_days(today, -365), today),
        "last_3_months": (_add_months(today, -3), today),
        "last_12_months": (_add_months(today, -12), today),
        "this_week": (week, _days(week, 7)),
        "last_week": (_days(week, -7), week),
        "this_month": (month, _add_months(month, 1)),
        "last_month": (_add_months(month, -1), month),
        "this_year": (year, year.replace(year=year.year + 1)),
        "last_year": (year.replace(year=year.year - 1), year),
    }
    if key not in table:
        raise invalid(f"'{key}' is not a valid timeframe key.", pointer=f"{TIMEFRAME_POINTER}/key")
    return table[key]


def _moment(raw: Any, tz: ZoneInfo, pointer: str) -> datetime:
    if not isinstance(raw, str):
        raise invalid("Expected an ISO 8601 datetime.", pointer=pointer)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid(f"'{raw}' is not an ISO 8601 datetime.", pointer=pointer) from exc
    return value.replace(tzinfo=tz)  # the offset is ignored: the company timezone is used


def resolve(raw: Any, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """A request's ``timeframe`` as an aware [start, end) in ``tz``."""
    if not isinstance(raw, dict):
        raise invalid("timeframe must be an object with 'key' or 'start' and 'end'.", pointer=TIMEFRAME_POINTER)
    if "key" in raw:
        if not isinstance(raw["key"], str):
            raise invalid("timeframe.key must be a string.", pointer=f"{TIMEFRAME_POINTER}/key")
        start, end = preset(raw["key"], now.astimezone(tz))
    elif "start" in raw and "end" in raw:
        start = _moment(raw["start"], tz, f"{TIMEFRAME_POINTER}/start")
        end = _moment(raw["end"], tz, f"{TIMEFRAME_POINTER}/end")
        if end <= start:
            raise invalid("timeframe end must be after its start.", pointer=f"{TIMEFRAME_POINTER}/end")
    else:
        raise invalid("timeframe needs 'key', or 'start' and 'end'.", pointer=TIMEFRAME_POINTER)
    if longer_than_a_year(start, end):
        raise invalid("The timeframe may span at most one year.", pointer=TIMEFRAME_POINTER)
    return start, end


def floor(moment: datetime, unit: str) -> datetime:
    if unit == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = _midnight(moment)
    if unit == "week":
        return _days(day, -day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def step(moment: datetime, unit: str) -> datetime:
    if unit == "hour":
        return datetime.fromtimestamp(moment.timestamp() + HOUR, moment.tzinfo)
    if unit == "week":
        return _days(moment, 7)
    if unit == "month":
        return _add_months(moment, 1)
    return _days(moment, 1)


def buckets(start: datetime, end: datetime, unit: str) -> tuple[list[datetime], list[int]]:
    """Bucket starts (floored to ``unit``) and the hour bounds to count, clipped to [start, end)."""
    starts: list[datetime] = []
    bounds: list[int] = []
    moment = floor(start, unit)
    while moment < end:
        starts.append(moment)
        bounds.append(hour_bound(max(moment, start)))
        moment = step(moment, unit)
    bounds.append(hour_bound(end))
    return starts, bounds


def hour_bound(moment: datetime) -> int:
    """First event hour at or after ``moment`` (events sit on whole UTC hours)."""
    return math.ceil(moment.timestamp() / HOUR)


def isoformat(moment: datetime) -> str:
    return moment.isoformat()

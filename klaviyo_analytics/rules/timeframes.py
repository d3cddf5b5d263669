"""Reporting windows: presets, explicit dates, chunking.

A window is a pair of inclusive calendar dates. Klaviyo reads a custom timeframe in the
account's timezone ("offset is ignored"), so the product sends midnight-to-midnight
boundaries without an offset. Klaviyo refuses a report longer than one year, so longer
windows (up to five years) are split into consecutive chunks and merged by the caller.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, get_args

from klaviyo_analytics.errors import InvalidArgumentError

Preset = Literal[
    "today",
    "yesterday",
    "last_7_days",
    "last_30_days",
    "last_90_days",
    "last_365_days",
    "this_month",
    "last_month",
    "year_to_date",
]
PRESETS: tuple[str, ...] = get_args(Preset)
MAX_YEARS = 5
# Reporting data older than this does not exist; later than this is a typo.
EARLIEST_DATE = date(2012, 1, 1)
LATEST_DATE = date(2100, 12, 31)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def to_dict(self) -> dict[str, str]:
        return {"start_date": self.start.isoformat(), "end_date": self.end.isoformat()}

    def klaviyo_timeframe(self) -> dict[str, str]:
        """A report ``CustomTimeframe``: [start 00:00, day after end 00:00) in account time."""
        return {
            "start": f"{self.start.isoformat()}T00:00:00",
            "end": f"{(self.end + timedelta(days=1)).isoformat()}T00:00:00",
        }

    def datetime_bounds(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.start, datetime.min.time())
        return start, datetime.combine(self.end + timedelta(days=1), datetime.min.time())

    def preceding(self) -> Period:
        """The equal-length window that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)


def add_years(day: date, years: int) -> date:
    target_year = day.year + years
    last_day = calendar.monthrange(target_year, day.month)[1]
    return day.replace(year=target_year, day=min(day.day, last_day))


def preset_period(preset: str, today: date) -> Period:
    yesterday = today - timedelta(days=1)
    if preset == "today":
        return Period(today, today)
    if preset == "yesterday":
        return Period(yesterday, yesterday)
    if preset.startswith("last_") and preset.endswith("_days"):
        days = int(preset.removeprefix("last_").removesuffix("_days"))
        return Period(yesterday - timedelta(days=days - 1), yesterday)
    if preset == "this_month":
        return Period(today.replace(day=1), today)
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    if preset == "year_to_date":
        return Period(today.replace(month=1, day=1), today)
    raise InvalidArgumentError(
        f"timeframe must be one of: {', '.join(PRESETS)}", field="timeframe", allowed=list(PRESETS)
    )


def resolve_period(
    start_date: date | None,
    end_date: date | None,
    timeframe: str | None,
    today: date,
    *,
    prefix: str = "",
    required: bool = True,
) -> Period | None:
    """The window a call asks for: explicit dates or a preset, never both, never neither."""
    start_field, end_field = f"{prefix}start_date", f"{prefix}end_date"
    if timeframe is not None and (start_date is not None or end_date is not None):
        raise InvalidArgumentError(
            f"give either {start_field}+{end_field} or timeframe, not both", field="timeframe", rule="window"
        )
    if timeframe is not None:
        return preset_period(timeframe, today)
    if start_date is None and end_date is None:
        if not required:
            return None
        raise InvalidArgumentError(
            f"a window is required: {start_field}+{end_field} (YYYY-MM-DD) or timeframe ({', '.join(PRESETS)})",
            field="timeframe",
            allowed=list(PRESETS),
            rule="window",
        )
    if start_date is None or end_date is None:
        missing = start_field if start_date is None else end_field
        raise InvalidArgumentError(
            f"{start_field} and {end_field} go together; {missing} is missing", field=missing, rule="window"
        )
    for name, value in ((start_field, start_date), (end_field, end_date)):
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            raise InvalidArgumentError(f"{name} must be between {EARLIEST_DATE} and {LATEST_DATE}", field=name)
    if end_date < start_date:
        raise InvalidArgumentError(
            f"{end_field} ({end_date}) is before {start_field} ({start_date})", field=end_field, rule="window"
        )
    # Today is a day later east of UTC (up to UTC+14); a window starting after that has no data anywhere.
    if start_date > today + timedelta(days=1):
        raise InvalidArgumentError(
            f"{start_field} ({start_date}) is in the future (today is {today}): there is no data yet; "
            "give a window that starts today or earlier",
            field=start_field,
            rule="window",
        )
    period = Period(start_date, end_date)
    if end_date + timedelta(days=1) > add_years(start_date, MAX_YEARS):
        raise InvalidArgumentError(
            f"the window is longer than {MAX_YEARS} years; narrow {start_field}..{end_field}",
            field=end_field,
            rule="window",
        )
    return period


def future_warning(period: Period, today: date) -> str | None:
    """The warning for a window that runs past today: its later days have no data yet."""
    if period.end <= today:
        return None
    return f"The window ends {period.end}, after today ({today}): the days after today have no data yet."


def chunk(period: Period, max_days: int | None = None) -> list[Period]:
    """Consecutive sub-windows covering ``period`` exactly, each at most one calendar year
    (and at most ``max_days`` days, for series intervals with tighter limits)."""
    chunks = []
    start = period.start
    while start <= period.end:
        end = min(period.end, add_years(start, 1) - timedelta(days=1))
        if max_days is not None:
            end = min(end, start + timedelta(days=max_days - 1))
        chunks.append(Period(start, end))
        start = end + timedelta(days=1)
    return chunks


@dataclass(frozen=True)
class BucketSpan:
    start: date  # the first day of the window the bucket counts
    end: date  # its last day, inclusive
    partial: bool  # the bucket covers fewer days than a whole week or month


def _next_bucket(day: date, interval: str) -> date:
    if interval == "weekly":
        return day + timedelta(days=7)
    if interval == "monthly":
        index = day.year * 12 + day.month  # the month after, as an index
        return date(index // 12, index % 12 + 1, 1)
    return day + timedelta(days=1)


def bucket_spans(date_times: list[str], interval: str, period: Period) -> list[BucketSpan]:
    """The days of ``period`` each series bucket counts. Klaviyo labels a bucket with its calendar
    start (a Monday, the 1st), which may lie before the window; the first and last buckets of a
    window that does not start and end on bucket edges cover only part of a week or month."""
    spans: list[BucketSpan] = []
    if interval == "hourly":
        return spans  # hours never straddle a window's edges, which are midnights
    for label in date_times:
        try:
            nominal = date.fromisoformat(label[:10])
        except ValueError:
            return []  # labels that are not dates: nothing to say about their edges
        after = _next_bucket(nominal, interval)
        start, end = max(nominal, period.start), min(after - timedelta(days=1), period.end)
        spans.append(BucketSpan(start, end, partial=(start, end) != (nominal, after - timedelta(days=1))))
    return spans

"""Which window a period is compared with: the rule a marketer means, named in the result.

"This month vs last" does not mean "the equal number of days before": on 1 December that
compares one day with 30 November, and ``last_month`` against the 30 days before November
drops 1 October. The rules, per preset (``compare_to: previous_period``, the default):

============== ======================================== ================================
current        prior                                    rule
============== ======================================== ================================
last_month     the calendar month before it             previous_calendar_month
this_month     the same days of the previous month      previous_month_same_days
               (1st..today's day, cut at its month end)
year_to_date   1 January..the same day last year        previous_year_same_days
last_N_days,   the N days (the one day) before          previous_equal_window
today,
yesterday
dates          whole calendar months: as many calendar  previous_calendar_months
               months before; otherwise the equal       or previous_equal_window
               window before
============== ======================================== ================================

``compare_to: previous_year`` compares with the same dates one year earlier
(``same_dates_previous_year``); a window of whole calendar months compares with the same
calendar months (so February 2029 meets all 29 days of February 2028), and 29 February
becomes 28 February.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from klaviyo_analytics.rules.timeframes import Period, add_years

CompareTo = Literal["previous_period", "previous_year"]


@dataclass(frozen=True)
class Comparison:
    prior: Period
    rule: str


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, cut at the target month's last day (31 March - 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, calendar.monthrange(year, month + 1)[1]))


def whole_months(period: Period) -> int:
    """How many calendar months ``period`` spans exactly (0: it is not a run of whole months)."""
    if period.start.day != 1 or period.end != month_end(period.end):
        return 0
    return (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1


def compare_window(current: Period, timeframe: str | None, compare_to: CompareTo) -> Comparison:
    """The prior window of ``current`` (resolved from ``timeframe``, or from dates when None)."""
    months = whole_months(current) if timeframe in (None, "last_month") else 0
    if compare_to == "previous_year":
        if months:
            start = add_years(current.start, -1)
            end = month_end(add_months(start, months - 1))
            return Comparison(Period(start, end), "same_calendar_months_previous_year")
        return Comparison(Period(add_years(current.start, -1), add_years(current.end, -1)), "same_dates_previous_year")
    if timeframe == "this_month":
        start = add_months(current.start, -1)
        end = min(start + timedelta(days=current.days - 1), month_end(start))
        return Comparison(Period(start, end), "previous_month_same_days")
    if timeframe == "year_to_date":
        return Comparison(Period(add_years(current.start, -1), add_years(current.end, -1)), "previous_year_same_days")
    if months:
        start = add_months(current.start, -months)
        rule = "previous_calendar_month" if months == 1 else "previous_calendar_months"
        return Comparison(Period(start, current.start - timedelta(days=1)), rule)
    return Comparison(current.preceding(), "previous_equal_window")


def comparison_warnings(current: Period, prior: Period, today: date) -> list[str]:
    """What a reader must know to read the changes: unequal lengths, a window still filling up."""
    warnings = []
    if current.days != prior.days:
        warnings.append(
            f"The windows differ in length ({current.days} vs {prior.days} days): compare rates, or counts per day."
        )
    if current.end >= today:
        warnings.append(
            f"The current window includes today ({today}), which is not over: its counts are still coming in, "
            "while the prior window is complete."
        )
    return warnings

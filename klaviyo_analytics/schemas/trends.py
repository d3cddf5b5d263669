"""Inputs and outputs of the over-time and period-comparison tools."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from klaviyo_analytics.comparisons import CompareTo
from klaviyo_analytics.health import BandsSource
from klaviyo_analytics.schemas.common import CalendarDate, KlaviyoId, OutputModel, PeriodOut, WindowParams, one_of
from klaviyo_analytics.untrusted import UntrustedLabels

Entity = Literal["campaign", "flow"]
Interval = Literal["hourly", "daily", "weekly", "monthly"]
REPORT_STATISTICS = (
    "average_order_value", "bounce_rate", "bounced", "bounced_or_failed", "bounced_or_failed_rate", "click_rate",
    "click_to_open_rate", "clicks", "clicks_unique", "conversion_rate", "conversion_uniques", "conversion_value",
    "conversions", "delivered", "delivery_rate", "failed", "failed_rate", "open_rate", "opens", "opens_unique",
    "recipients", "revenue_per_recipient", "spam_complaint_rate", "spam_complaints", "unsubscribe_rate",
    "unsubscribe_uniques", "unsubscribes",
)  # fmt: skip
ReportStatistic = one_of(REPORT_STATISTICS, "statistic")


class OverTimeParams(WindowParams):
    entity: Entity = Field(description="flow: Klaviyo's native series; campaign: built from metric events.")
    interval: Interval = "weekly"
    entity_id: KlaviyoId | None = Field(None, description="Only this flow id (entity=flow).")
    statistics: list[ReportStatistic] | None = Field(  # type: ignore[valid-type]
        None, min_length=1, max_length=12, description="Flow report statistics (Klaviyo names); default: a core set."
    )


class SeriesRow(OutputModel):
    groupings: UntrustedLabels
    statistics: dict[str, list[int | float | None]]
    not_applicable: dict[str, str] = Field(default_factory=dict)


class Bucket(OutputModel):
    start_date: str
    end_date: str
    days: int
    partial: bool


class OverTimeResult(OutputModel):
    entity: Entity
    interval: Interval
    date_times: list[str]
    buckets: list[Bucket]  # the days of the window each bucket counts; partial: a week or month cut
    series: list[SeriesRow]


class CompareParams(WindowParams):
    entity: Entity
    # The rules per preset are in the tool's description and docs/numbers-and-comparisons.md (comparisons.py).
    compare_to: CompareTo | None = None
    prior_start_date: CalendarDate | None = Field(None, description="Prior window start (with prior_end_date).")
    prior_end_date: CalendarDate | None = Field(None, description="Prior window end (instead of compare_to).")
    entity_id: KlaviyoId | None = Field(None, description="Compare only this campaign or flow id.")


class Delta(OutputModel):
    absolute: int | float | None
    pct_change: float | None


class CompareResult(OutputModel):
    entity: Entity
    comparison: str  # the rule that chose prior_period, e.g. previous_calendar_month
    current_period: PeriodOut
    prior_period: PeriodOut
    current_totals: dict[str, int | float | None]
    prior_totals: dict[str, int | float | None]
    deltas: dict[str, Delta]
    not_applicable: dict[str, str]
    current_health: dict[str, str]
    prior_health: dict[str, str]
    health_bands: BandsSource
    current_entity_count: int
    prior_entity_count: int

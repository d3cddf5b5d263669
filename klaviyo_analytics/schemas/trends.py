"""Inputs and outputs of the over-time and period-comparison tools."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

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
    statistics: dict[str, list[float | None]]


class OverTimeResult(OutputModel):
    entity: Entity
    interval: Interval
    date_times: list[str]
    series: list[SeriesRow]


class CompareParams(WindowParams):
    entity: Entity
    prior_start_date: CalendarDate | None = Field(None, description="Prior window start (with prior_end_date).")
    prior_end_date: CalendarDate | None = Field(None, description="Prior window end; default: the equal window before.")
    entity_id: KlaviyoId | None = Field(None, description="Compare only this campaign or flow id.")


class Delta(OutputModel):
    absolute: float | None
    pct_change: float | None


class CompareResult(OutputModel):
    entity: Entity
    current_period: PeriodOut
    prior_period: PeriodOut
    current_totals: dict[str, float | None]
    prior_totals: dict[str, float | None]
    deltas: dict[str, Delta]
    current_entity_count: int
    prior_entity_count: int

"""Inputs and outputs of the over-time and period-comparison tools."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from klaviyo_analytics.rules.untrusted import UntrustedLabels
from klaviyo_analytics.schemas.common import (
    METRIC_ALIASES,
    Entity,
    KlaviyoId,
    MoneyAnswer,
    OutputModel,
    WindowParams,
    one_of,
)

Interval = Literal["hourly", "daily", "weekly", "monthly"]
REPORT_STATISTICS = (
    "average_order_value", "bounce_rate", "bounced", "bounced_or_failed", "bounced_or_failed_rate", "click_rate",
    "click_to_open_rate", "clicks", "clicks_unique", "conversion_rate", "conversion_uniques", "conversion_value",
    "conversions", "delivered", "delivery_rate", "failed", "failed_rate", "open_rate", "opens", "opens_unique",
    "recipients", "revenue_per_recipient", "spam_complaint_rate", "spam_complaints", "unsubscribe_rate",
    "unsubscribe_uniques", "unsubscribes",
)  # fmt: skip
ReportStatistic = one_of(REPORT_STATISTICS, "statistic", METRIC_ALIASES)


class OverTimeParams(WindowParams):
    entity: Entity = Field(description="flow: Klaviyo's native series; campaign: built from metric events.")
    interval: Interval = "weekly"
    entity_id: KlaviyoId | None = Field(None, description="Only this flow id (entity=flow).")
    statistics: list[ReportStatistic] | None = Field(  # type: ignore[valid-type]
        None,
        min_length=1,
        max_length=12,
        description="Flow report statistics (Klaviyo names; revenue too); default: a core set.",
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


class OverTimeResult(MoneyAnswer):
    entity: Entity
    interval: Interval
    date_times: list[str]
    buckets: list[Bucket]  # the days of the window each bucket counts; partial: a week or month cut
    series: list[SeriesRow]

from __future__ import annotations

from typing import Literal

from pydantic import Field

from klaviyo_analytics.rules.untrusted import UntrustedDimensions, UntrustedText
from klaviyo_analytics.schemas.common import MoneyAnswer, OutputModel, WindowParams, one_of
from klaviyo_analytics.schemas.trends import Interval

DIMENSIONS = (
    "$attributed_channel", "$attributed_flow", "$attributed_message", "$attributed_variation", "$campaign_channel",
    "$flow", "$flow_channel", "$message", "$message_send_cohort", "$usage_amount", "$value_currency", "$variation",
    "$variation_send_cohort", "Bot Click", "Bounce Type", "Campaign Name", "Client Canonical", "Client Name",
    "Client Type", "Email Domain", "Failure Source", "Failure Type", "From Number", "From Phone Region",
    "Inbox Provider", "List", "Message Format", "Message Name", "Message Type", "Method", "Segment Count", "Subject",
    "To Number", "To Phone Region", "URL", "form_id",
)  # fmt: skip
Dimension = one_of(DIMENSIONS, "dimension")
Measurement = Literal["count", "sum_value", "unique"]


class MetricQueryParams(WindowParams):
    metric: str = Field(min_length=1, max_length=128, description="Metric name (e.g. 'Placed Order') or id.")
    measurements: list[Measurement] = Field(default=["count"], min_length=1, max_length=3)
    interval: Interval = "daily"
    by: list[Dimension] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=2, description="Up to 2 Klaviyo dimensions, e.g. '$message', 'List'."
    )
    limit: int = Field(25, ge=1, le=100, description="Keep the top rows by the first measurement's total.")


class MetricRef(OutputModel):
    id: str
    name: UntrustedText


class MetricRow(OutputModel):
    dimensions: UntrustedDimensions
    totals: dict[str, float]
    series: dict[str, list[float]]


class MetricQueryResult(MoneyAnswer):
    metric: MetricRef
    interval: Interval
    dates: list[str]
    rows: list[MetricRow]
    row_count: int
    truncated: bool

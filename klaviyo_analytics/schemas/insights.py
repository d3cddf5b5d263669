"""Inputs and outputs of the tools that answer the questions behind the numbers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from klaviyo_analytics.comparisons import CompareTo
from klaviyo_analytics.schemas.common import OutputModel, PeriodOut, WindowParams, one_of
from klaviyo_analytics.untrusted import UntrustedText

Entity = Literal["campaign", "flow"]
# Every number of a performance row can rank (stats.COUNTS and stats.RATES).
RANK_METRICS = (
    "conversion_value", "revenue_per_recipient", "conversion_rate", "conversions", "unique_conversions", "sent",
    "delivered", "opens", "open_rate", "clicks", "click_rate", "click_to_open_rate", "bounces", "bounce_rate",
    "unsubscribes", "unsubscribe_rate", "spam_complaints", "spam_complaint_rate",
)  # fmt: skip
RankMetric = one_of(RANK_METRICS, "metric")


class RevenueSplitParams(WindowParams):
    pass


class RevenueSource(OutputModel):
    source: Literal["campaigns", "flows", "other"]
    revenue: float
    share: float | None


class ChannelRevenue(OutputModel):
    channel: str
    campaigns: float
    flows: float
    share: float | None


class RevenueSplitResult(OutputModel):
    total_revenue: float  # the conversion metric's value over the window
    sources: list[RevenueSource]
    channels: list[ChannelRevenue]
    email_share: float | None
    conversion_metric_id: str


class RankParams(WindowParams):
    entity: Entity
    metric: RankMetric = "conversion_value"  # type: ignore[valid-type]
    order: Literal["top", "bottom"] = "top"
    limit: int = Field(5, ge=1, le=50)
    min_delivered: int = Field(100, ge=0, description="Rank only rows with this many deliveries.")


class Ranked(OutputModel):
    rank: int
    id: str
    name: UntrustedText | None
    value: int | float | None
    delivered: int
    health: dict[str, str]


class RankResult(OutputModel):
    metric: str
    ranked: list[Ranked]
    eligible: int
    below_floor: int  # rows left out for fewer deliveries than min_delivered


class AnomalyParams(WindowParams):
    entity: Entity = "flow"
    compare_to: CompareTo | None = None
    threshold: float = Field(0.3, gt=0, description="Relative change, 0.3 = 30%.")
    min_delivered: int = Field(100, ge=0, description="Volume floor (deliveries).")


class Anomaly(OutputModel):
    kind: Literal["stopped_sending", "stopped_converting", "change"]
    id: str | None = Field(description="The campaign or flow; null for the account's totals.")
    name: UntrustedText | None
    metric: str
    current: int | float | None
    prior: int | float | None
    pct_change: float | None
    current_volume: int | None = Field(None, description="Deliveries (a rate's trials) or the count itself.")
    prior_volume: int | None = None
    p_value: float | None = Field(None, description="Chance of a change this large from noise alone.")


class AnomalyResult(OutputModel):
    comparison: str
    current_period: PeriodOut
    prior_period: PeriodOut
    anomalies: list[Anomaly]
    checked: int
    suppressed: int = Field(0, description="Changes past the threshold left out: too little volume or not significant.")

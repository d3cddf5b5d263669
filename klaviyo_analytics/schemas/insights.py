"""Inputs and outputs of the tools that answer the questions behind the numbers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.common import METRIC_ALIASES, Entity, MoneyAnswer, OutputModel, WindowParams, one_of

# Every number of a performance row can rank (stats.COUNTS and stats.RATES).
RANK_METRICS = (
    "conversion_value", "revenue_per_recipient", "conversion_rate", "conversions", "unique_conversions", "sent",
    "delivered", "opens", "open_rate", "clicks", "click_rate", "click_to_open_rate", "bounces", "bounce_rate",
    "unsubscribes", "unsubscribe_rate", "spam_complaints", "spam_complaint_rate",
)  # fmt: skip
RankMetric = one_of(RANK_METRICS, "metric", METRIC_ALIASES)


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


class RevenueSplitResult(MoneyAnswer):
    total_revenue: float  # the conversion metric's value over the window
    sources: list[RevenueSource]
    channels: list[ChannelRevenue]
    email_share: float | None
    conversion_metric_id: str


class RankParams(WindowParams):
    entity: Entity
    metric: RankMetric = Field("conversion_value", description="revenue = conversion_value")  # type: ignore[valid-type]
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


class RankResult(MoneyAnswer):
    metric: str
    ranked: list[Ranked]
    eligible: int
    below_floor: int  # rows left out for fewer deliveries than min_delivered

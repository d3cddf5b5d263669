"""Campaign and flow performance rows: Klaviyo's counts plus rates derived from them."""

from __future__ import annotations

from pydantic import Field

from klaviyo_analytics.schemas.common import KlaviyoId, OutputModel, WindowParams


class PerformanceStats(OutputModel):
    sent: float = Field(description="Recipients.")
    delivered: float
    opens: float = Field(description="Unique opens.")
    open_rate: float | None
    clicks: float = Field(description="Unique clicks.")
    click_rate: float | None
    click_to_open_rate: float | None
    bounces: float
    bounce_rate: float | None
    unsubscribes: float = Field(description="Unique unsubscribes.")
    unsubscribe_rate: float | None
    spam_complaints: float
    spam_complaint_rate: float | None
    conversions: float
    unique_conversions: float
    conversion_rate: float | None
    conversion_value: float
    revenue_per_recipient: float | None


class CampaignPerformanceParams(WindowParams):
    campaign: KlaviyoId | None = Field(None, description="Only this campaign id.")
    resolve_campaign_names: bool = Field(True, description="Attach campaign names (one campaigns call per channel).")


class CampaignRow(PerformanceStats):
    campaign_id: str
    campaign_name: str | None
    send_channel: str | None
    send_time: str | None


class CampaignPerformanceResult(OutputModel):
    campaigns: list[CampaignRow]
    campaign_count: int

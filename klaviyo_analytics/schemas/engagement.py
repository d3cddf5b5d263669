"""Models of the engagement tools: A/B results, link clicks and send fatigue (service/engagement.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.common import AccountParams, KlaviyoId, OutputModel

# The API's limit on one metric-aggregates window; longer asks are refused naming ``days``.
MAX_DAYS = 365


class MessageParams(AccountParams):
    """One campaign or one flow message (exactly one; the tool descriptions say so, which costs fewer
    bytes of tools/list than a description per field), and the window's length in days."""

    campaign: KlaviyoId | None = None
    flow_message: KlaviyoId | None = None
    days: int | None = Field(
        None, ge=1, le=MAX_DAYS, description="Window: from the send (default 15), or to yesterday (30)."
    )


AbMetric = Literal["open_rate", "click_rate", "conversion_rate"]


class AbResultsParams(MessageParams):
    winning_metric: AbMetric = "click_rate"


class MessageRef(OutputModel):
    message_id: str
    channel: str
    campaign_id: str | None
    flow_id: str | None
    name: UntrustedText | None


class AbVariation(OutputModel):
    variation: UntrustedText
    recipients: int
    delivered: int
    opens: int = Field(description="Unique opens.")
    clicks: int = Field(description="Unique clicks.")
    conversions: int = Field(description="Unique converters attributed to the variation.")
    revenue: float
    open_rate: float | None
    click_rate: float | None
    conversion_rate: float | None
    revenue_per_recipient: float | None


class RateTest(OutputModel):
    metric: str
    leader: UntrustedText | None
    leader_rate: float | None
    runner_up_rate: float | None
    relative_lift: float | None
    p_value: float | None
    significant: bool
    sample_needed_per_variation: int | None = Field(description="Deliveries each variation needs (see method).")


class AbResultsResult(OutputModel):
    message: MessageRef
    has_ab_test: bool
    verdict: str
    winner: UntrustedText | None
    variations: list[AbVariation]
    tests: list[RateTest]
    method: str


class LinkClicksParams(MessageParams):
    limit: int = Field(20, ge=1, le=100)


class TrackedUrl(OutputModel):
    url: UntrustedText
    clicks: int
    unique_clickers: int


class LinkRow(OutputModel):
    url: UntrustedText = Field(description="The link without tracking parameters.")
    clicks: int
    unique_clickers: int = Field(description="Sum over its tracked URLs (a person clicking two counts twice).")
    share_of_clicks: float
    tracking_params: list[str]
    tracked_urls: list[TrackedUrl]


class LinkClicksResult(OutputModel):
    message: MessageRef
    links: list[LinkRow]
    link_count: int
    total_clicks: int


class SendFatigueParams(AccountParams):
    weeks: int = Field(12, ge=4, le=52, description="Whole weeks before this one.")


class FatigueWeek(OutputModel):
    week_start: str
    campaign_sends: int
    unique_recipients: int
    sends_per_profile: float
    delivered: int
    unsubscribes: int
    unsubscribe_rate: float | None
    spam_complaints: int
    spam_rate: float | None


class CorrelationOut(OutputModel):
    rate: str
    n: int = Field(description="Weeks with campaign sends.")
    pearson_r: float | None
    spearman_rho: float | None
    p_value: float | None
    strength: str
    direction: str
    statement: str


class SendFatigueResult(OutputModel):
    weeks: list[FatigueWeek]
    audience: int
    audience_basis: str
    correlations: list[CorrelationOut]
    summary: str
    method: str

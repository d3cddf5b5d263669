"""Models of the campaign tools (klaviyo_get_campaign_performance, klaviyo_get_campaigns); the
performance row they share with flows (``PerformanceStats``) is in ``common``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from klaviyo_analytics.rules.bands import BandsSource
from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.common import (
    CONTRACT_KEY,
    AccountParams,
    KlaviyoId,
    MoneyAnswer,
    OutputModel,
    PerformanceStats,
    WindowParams,
)


class CampaignPerformanceParams(WindowParams):
    campaign: KlaviyoId | None = Field(None, description="Only this campaign id.")
    resolve_campaign_names: bool = Field(True, description="Attach campaign names (one campaigns call per channel).")


class CampaignRow(PerformanceStats):
    campaign_id: str
    campaign_name: UntrustedText | None
    send_channel: str | None
    send_time: str | None
    note: str | None = Field(None, description="Why a row reads oddly, e.g. revenue with 0 sent in the window.")


class CampaignPerformanceResult(MoneyAnswer):
    campaigns: list[CampaignRow]
    campaign_count: int
    health_bands: BandsSource


CampaignChannel = Literal["email", "sms", "mobile_push"]


CAMPAIGN_STATUSES = (
    "Scheduled", "Sent", "Draft", "Cancelled", "Adding Recipients", "Sending", "Variations Sent", "Sending Segments",
    "Cancelled: Smart Sending", "Preparing to send", "Cancelled: Account Disabled", "Cancelled: No Recipients",
    "Preparing to schedule", "Cancelled: Internal Error", "Queued without Recipients", "Cancelled: Billing Limit",
    "Cancelled: Misconfigured", "Unknown",
)  # fmt: skip


class GetCampaignsParams(AccountParams):
    channel: CampaignChannel | None = Field(None, description="Only this channel (default: email and sms).")
    # Checked by the tool (its error lists them); the REST contract states them, tools/list does not.
    status: str | None = Field(
        None,
        max_length=40,
        description="e.g. Sent, Draft, Scheduled.",
        json_schema_extra={CONTRACT_KEY: {"enum": list(CAMPAIGN_STATUSES)}},
    )
    name_contains: str | None = Field(None, min_length=1, max_length=100)
    archived: bool = False


class Audiences(OutputModel):
    included: list[str]
    excluded: list[str]


class CampaignOut(OutputModel):
    campaign_id: str
    name: UntrustedText | None
    channel: str
    status: str | None
    send_time: str | None
    scheduled_at: str | None
    created_at: str | None
    archived: bool | None
    audiences: Audiences


class GetCampaignsResult(OutputModel):
    campaigns: list[CampaignOut]
    campaign_count: int

from __future__ import annotations

from klaviyo_analytics.schemas.campaigns import (
    CampaignPerformanceParams,
    CampaignPerformanceResult,
    GetCampaignsParams,
    GetCampaignsResult,
)
from klaviyo_analytics.service.campaigns import get_campaign_performance, get_campaigns
from klaviyo_analytics.tools.spec import ToolSpec
from klaviyo_analytics.tools.warmable import over_common_windows

TOOLS = (
    ToolSpec(
        name="klaviyo_get_campaign_performance",
        title="Campaign performance",
        description=(
            "Per-campaign sends, opens, clicks, conversions, revenue and rates (email and SMS) over a window: "
            "'which campaigns did best last month?'"
        ),
        params=CampaignPerformanceParams,
        result=CampaignPerformanceResult,
        handler=get_campaign_performance,
        read_only=True,
        scopes=("campaigns:read",),
        toolset="campaigns",
        method="POST",
        path="/v1/campaigns/performance",
        warm=over_common_windows(),
    ),
    ToolSpec(
        name="klaviyo_get_campaigns",
        title="List campaigns",
        description="List email and SMS campaigns with status, send time and audiences (no metrics).",
        params=GetCampaignsParams,
        result=GetCampaignsResult,
        handler=get_campaigns,
        read_only=True,
        scopes=("campaigns:read",),
        toolset="campaigns",
        method="GET",
        path="/v1/campaigns",
    ),
)

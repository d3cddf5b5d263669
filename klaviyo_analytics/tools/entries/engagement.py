from __future__ import annotations

from klaviyo_analytics.schemas.engagement import (
    AbResultsParams,
    AbResultsResult,
    LinkClicksParams,
    LinkClicksResult,
    SendFatigueParams,
    SendFatigueResult,
)
from klaviyo_analytics.service.engagement import get_ab_results, get_link_clicks, get_send_fatigue
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_get_ab_results",
        title="A/B test results",
        description=(
            "A/B test of one campaign or flow_message: per-variation deliveries, opens, clicks, conversions, revenue, "
            "a significance test per rate, the winner if any: 'did B really win?'"
        ),
        params=AbResultsParams,
        result=AbResultsResult,
        handler=get_ab_results,
        read_only=True,
        scopes=("campaigns:read", "flows:read", "metrics:read"),
        toolset="campaigns",
        method="POST",
        path="/v1/engagement/ab-results",
    ),
    ToolSpec(
        name="klaviyo_get_link_clicks",
        title="Link clicks",
        description="Links clicked in one campaign or flow_message: clicks and unique clickers per URL, grouped "
        "without tracking parameters.",
        params=LinkClicksParams,
        result=LinkClicksResult,
        handler=get_link_clicks,
        read_only=True,
        scopes=("campaigns:read", "flows:read", "metrics:read"),
        toolset="campaigns",
        method="POST",
        path="/v1/engagement/link-clicks",
    ),
    ToolSpec(
        name="klaviyo_get_send_fatigue",
        title="Send fatigue",
        description="Weekly campaign sends per profile against unsubscribe and spam rates, and their correlation: "
        "'am I sending too often?'",
        params=SendFatigueParams,
        result=SendFatigueResult,
        handler=get_send_fatigue,
        read_only=True,
        scopes=("metrics:read",),
        toolset="campaigns",
        method="POST",
        path="/v1/engagement/send-fatigue",
    ),
)

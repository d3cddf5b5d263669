"""The tool catalog: the one declaration of every tool."""

from __future__ import annotations

from klaviyo_analytics.schemas.accounts import ListAccountsParams, ListAccountsResult
from klaviyo_analytics.schemas.performance import CampaignPerformanceParams, CampaignPerformanceResult
from klaviyo_analytics.service.accounts import list_accounts
from klaviyo_analytics.service.campaigns import get_campaign_performance
from klaviyo_analytics.tools.spec import ToolSpec

CATALOG: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="klaviyo_list_accounts",
        title="List Klaviyo accounts",
        description=(
            "List the Klaviyo accounts this server can use (name and label). Call first when the user "
            "has several accounts and has not said which."
        ),
        params=ListAccountsParams,
        result=ListAccountsResult,
        handler=list_accounts,
        read_only=True,
        scopes=(),
        toolset="accounts",
        method="GET",
        path="/v1/accounts",
    ),
    ToolSpec(
        name="klaviyo_get_campaign_performance",
        title="Campaign performance",
        description=(
            "Per-campaign results (sends, opens, clicks, conversions, revenue and rates) for email and SMS "
            "campaigns over a window. Use for 'which campaigns did best last month'."
        ),
        params=CampaignPerformanceParams,
        result=CampaignPerformanceResult,
        handler=get_campaign_performance,
        read_only=True,
        scopes=("campaigns:read",),
        toolset="campaigns",
        method="POST",
        path="/v1/campaigns/performance",
    ),
)


def visible_tools(read_only: bool) -> tuple[ToolSpec, ...]:
    """The tools a server offers; READ_ONLY hides everything that could change anything."""
    return tuple(spec for spec in CATALOG if spec.read_only or not read_only)


def get_tool(name: str) -> ToolSpec:
    for spec in CATALOG:
        if spec.name == name:
            return spec
    raise KeyError(name)

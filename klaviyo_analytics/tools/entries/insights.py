"""Insight tools: where revenue comes from, and rankings."""

from __future__ import annotations

from klaviyo_analytics.schemas.insights import RankParams, RankResult, RevenueSplitParams, RevenueSplitResult
from klaviyo_analytics.service.insights import rank_entities, revenue_split
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_get_revenue_split",
        title="Revenue split",
        description="Revenue from campaigns vs flows vs other, and per channel, over a window.",
        params=RevenueSplitParams,
        result=RevenueSplitResult,
        handler=revenue_split,
        read_only=True,
        scopes=("campaigns:read", "flows:read", "metrics:read"),
        toolset="insights",
        method="POST",
        path="/v1/insights/revenue-split",
        chart=True,
    ),
    ToolSpec(
        name="klaviyo_rank_performance",
        title="Rank campaigns or flows",
        description="Top/bottom N campaigns or flows by any metric; rows under min_delivered are left out.",
        params=RankParams,
        result=RankResult,
        handler=rank_entities,
        read_only=True,
        scopes=("campaigns:read", "flows:read"),
        toolset="insights",
        method="POST",
        path="/v1/insights/rankings",
    ),
)

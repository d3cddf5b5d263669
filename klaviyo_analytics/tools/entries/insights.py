from __future__ import annotations

from klaviyo_analytics.schemas.insights import (
    AnomalyParams,
    AnomalyResult,
    RankParams,
    RankResult,
    RevenueSplitParams,
    RevenueSplitResult,
)
from klaviyo_analytics.schemas.predictive import PredictiveParams, PredictiveResult
from klaviyo_analytics.service.anomalies import find_anomalies
from klaviyo_analytics.service.insights import rank_entities, revenue_split
from klaviyo_analytics.service.predictive import get_predictive_analytics
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
    ToolSpec(
        name="klaviyo_find_anomalies",
        title="Find anomalies",
        description=(
            "What moved beyond a threshold vs the window before (default: this week vs last), and flows that "
            "stopped sending or converting, with the numbers."
        ),
        params=AnomalyParams,
        result=AnomalyResult,
        handler=find_anomalies,
        read_only=True,
        scopes=("campaigns:read", "flows:read"),
        toolset="insights",
        method="POST",
        path="/v1/insights/anomalies",
    ),
    ToolSpec(
        name="klaviyo_get_predictive_analytics",
        title="Predictive analytics",
        description="Spread of predicted CLV, churn risk and next order in a list, segment or account (sampled).",
        params=PredictiveParams,
        result=PredictiveResult,
        handler=get_predictive_analytics,
        read_only=True,
        scopes=("lists:read", "profiles:read", "segments:read"),
        toolset="insights",
        method="POST",
        path="/v1/insights/predictive",
    ),
)

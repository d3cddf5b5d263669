"""The predictive analytics tool."""

from __future__ import annotations

from klaviyo_analytics.schemas.predictive import PredictiveParams, PredictiveResult
from klaviyo_analytics.service.predictive import get_predictive_analytics
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
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

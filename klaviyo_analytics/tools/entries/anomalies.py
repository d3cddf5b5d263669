"""The anomalies tool: what moved beyond a threshold."""

from __future__ import annotations

from klaviyo_analytics.schemas.anomalies import AnomalyParams, AnomalyResult
from klaviyo_analytics.service.anomalies import find_anomalies
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
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
)

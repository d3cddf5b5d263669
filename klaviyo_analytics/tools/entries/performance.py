from __future__ import annotations

from klaviyo_analytics.schemas.trends import CompareParams, CompareResult, OverTimeParams, OverTimeResult
from klaviyo_analytics.service.trends import compare_periods, get_performance_over_time
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_get_performance_over_time",
        title="Performance over time",
        description=(
            "A time series (hourly/daily/weekly/monthly) of flow or campaign results. Use for trends: "
            "'how did my welcome flow do week by week this quarter'."
        ),
        params=OverTimeParams,
        result=OverTimeResult,
        handler=get_performance_over_time,
        read_only=True,
        scopes=("flows:read", "metrics:read"),
        toolset="performance",
        method="POST",
        path="/v1/performance/over-time",
    ),
    ToolSpec(
        name="klaviyo_compare_periods",
        title="Compare periods",
        description=(
            "Campaign or flow totals for a window against the previous equal window (or given prior dates), "
            "with absolute and percent changes. Use for 'this month vs last month'."
        ),
        params=CompareParams,
        result=CompareResult,
        handler=compare_periods,
        read_only=True,
        scopes=("campaigns:read", "flows:read"),
        toolset="performance",
        method="POST",
        path="/v1/performance/compare",
    ),
)

from __future__ import annotations

from klaviyo_analytics.schemas.trends import CompareParams, CompareResult, OverTimeParams, OverTimeResult
from klaviyo_analytics.service.compare import compare_periods
from klaviyo_analytics.service.trends import get_performance_over_time
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_get_performance_over_time",
        title="Performance over time",
        description=(
            "Hourly/daily/weekly/monthly series of flow or campaign results, for trends: 'the welcome flow "
            "week by week'."
        ),
        params=OverTimeParams,
        result=OverTimeResult,
        handler=get_performance_over_time,
        read_only=True,
        scopes=("flows:read", "metrics:read"),
        toolset="performance",
        method="POST",
        path="/v1/performance/over-time",
        chart=True,
    ),
    ToolSpec(
        name="klaviyo_compare_periods",
        title="Compare periods",
        description=(
            "Campaign or flow totals for a window vs the window before (last_month: the calendar month before; "
            "this_month: the same days of last month) or last year, with changes and the rule used."
        ),
        params=CompareParams,
        result=CompareResult,
        handler=compare_periods,
        read_only=True,
        scopes=("campaigns:read", "flows:read"),
        toolset="performance",
        method="POST",
        path="/v1/performance/compare",
        chart=True,
    ),
)

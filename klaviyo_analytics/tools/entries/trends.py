"""The performance-over-time tool (toolset performance)."""

from __future__ import annotations

from klaviyo_analytics.schemas.trends import OverTimeParams, OverTimeResult
from klaviyo_analytics.service.trends import get_performance_over_time
from klaviyo_analytics.tools.spec import ToolSpec
from klaviyo_analytics.tools.warmable import over_common_windows

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
        warm=over_common_windows(entity="flow", interval="daily"),
        chart=True,
    ),
)

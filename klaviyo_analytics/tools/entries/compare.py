"""The compare-periods tool (toolset performance)."""

from __future__ import annotations

from klaviyo_analytics.schemas.compare import CompareParams, CompareResult
from klaviyo_analytics.service.compare import compare_periods
from klaviyo_analytics.tools.spec import ToolSpec
from klaviyo_analytics.tools.warmable import over_common_windows

TOOLS = (
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
        warm=over_common_windows(entity="campaign") + over_common_windows(entity="flow"),
        chart=True,
    ),
)

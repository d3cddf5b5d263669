from __future__ import annotations

from klaviyo_analytics.schemas.lists import (
    ListBreakdownParams,
    ListBreakdownResult,
    ListGrowthByListParams,
    ListGrowthByListResult,
    ListGrowthParams,
    ListGrowthResult,
    ListHealthParams,
    ListHealthResult,
)
from klaviyo_analytics.service.lists import (
    get_list_breakdown,
    get_list_growth,
    get_list_growth_by_list,
    get_list_health,
)
from klaviyo_analytics.tools.spec import ToolSpec
from klaviyo_analytics.tools.warmable import once

TOOLS = (
    ToolSpec(
        name="klaviyo_get_list_health",
        title="List sizes",
        description=(
            "Current size (profile_count), opt-in process and dates of every list, or one list. Sizes are "
            "rate-limited: pending ones come on later calls (resume)."
        ),
        params=ListHealthParams,
        result=ListHealthResult,
        handler=get_list_health,
        read_only=True,
        scopes=("lists:read",),
        toolset="lists",
        method="GET",
        path="/v1/lists/health",
        warm=once(),
        resume_rows=("lists", "list_id"),
    ),
    ToolSpec(
        name="klaviyo_get_list_growth",
        title="Subscriber growth by channel",
        description="Account-wide subscribes, unsubscribes and net over a window: list joins, email and SMS consent.",
        params=ListGrowthParams,
        result=ListGrowthResult,
        handler=get_list_growth,
        read_only=True,
        scopes=("metrics:read",),
        toolset="lists",
        method="POST",
        path="/v1/lists/growth",
    ),
    ToolSpec(
        name="klaviyo_get_list_growth_by_list",
        title="Subscriber growth per list",
        description="Subscribes, unsubscribes and net per list over a window (lists with activity only).",
        params=ListGrowthByListParams,
        result=ListGrowthByListResult,
        handler=get_list_growth_by_list,
        read_only=True,
        scopes=("lists:read", "metrics:read"),
        toolset="lists",
        method="POST",
        path="/v1/lists/growth-by-list",
    ),
    ToolSpec(
        name="klaviyo_get_list_breakdown",
        title="List sizes and growth",
        description=(
            "Every list's current size plus its subscribes, unsubscribes and net over a window, with totals. "
            "Ids in pending: call again later."
        ),
        params=ListBreakdownParams,
        result=ListBreakdownResult,
        handler=get_list_breakdown,
        read_only=True,
        scopes=("lists:read", "metrics:read"),
        toolset="lists",
        method="POST",
        path="/v1/lists/breakdown",
    ),
)

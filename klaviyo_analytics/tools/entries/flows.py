from __future__ import annotations

from klaviyo_analytics.schemas.flows import (
    FlowPerformanceParams,
    FlowPerformanceResult,
    FlowStructureParams,
    FlowStructureResult,
    GetFlowsParams,
    GetFlowsResult,
)
from klaviyo_analytics.service.flows import get_flow_performance, get_flow_structure, get_flows
from klaviyo_analytics.tools.spec import ToolSpec
from klaviyo_analytics.tools.warmable import over_common_windows

TOOLS = (
    ToolSpec(
        name="klaviyo_get_flows",
        title="List flows",
        description="List flows with status, trigger and dates (no metrics); filter by status or archived.",
        params=GetFlowsParams,
        result=GetFlowsResult,
        handler=get_flows,
        read_only=True,
        scopes=("flows:read",),
        toolset="flows",
        method="GET",
        path="/v1/flows",
    ),
    ToolSpec(
        name="klaviyo_get_flow_performance",
        title="Flow performance",
        description=(
            "Flow sends, opens, clicks, conversions, revenue and rates per message, or per flow with rollup: "
            "'which flows made the most revenue?'"
        ),
        params=FlowPerformanceParams,
        result=FlowPerformanceResult,
        handler=get_flow_performance,
        read_only=True,
        scopes=("flows:read",),
        toolset="flows",
        method="POST",
        path="/v1/flows/performance",
        warm=over_common_windows(rollup=True),
    ),
    ToolSpec(
        name="klaviyo_get_flow_structure",
        title="Flow structure",
        description="The ordered steps of one flow (sends with message name and subject, delays, splits).",
        params=FlowStructureParams,
        result=FlowStructureResult,
        handler=get_flow_structure,
        read_only=True,
        scopes=("flows:read",),
        toolset="flows",
        method="GET",
        path="/v1/flows/<flow_id>/structure",
    ),
)

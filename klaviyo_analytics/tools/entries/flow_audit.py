from __future__ import annotations

from klaviyo_analytics.schemas.flow_audit import FlowAuditParams, FlowAuditResult
from klaviyo_analytics.service.flow_audit import audit_flows
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_audit_flows",
        title="Audit flows",
        description=(
            "What is missing or broken in the flows: lifecycle stages with no live flow, stopped flows, draft "
            "messages, Smart Sending off, revenue decay; each with evidence and the klaviyo_propose_flow recipe."
        ),
        params=FlowAuditParams,
        result=FlowAuditResult,
        handler=audit_flows,
        read_only=True,
        scopes=("flows:read", "metrics:read"),
        toolset="flows",
        method="GET",
        path="/v1/flows/audit",
    ),
)

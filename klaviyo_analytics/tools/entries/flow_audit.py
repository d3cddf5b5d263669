from __future__ import annotations

from klaviyo_analytics.schemas.flow_audit import FlowAuditParams, FlowAuditResult
from klaviyo_analytics.service.flow_audit import audit_flows
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_audit_flows",
        title="Audit flows",
        description=(
            "What is missing or broken in the automation: lifecycle stages without a live flow, live flows that "
            "stopped sending, draft/manual messages, Smart Sending off, revenue per recipient decaying; each "
            "finding with evidence and the klaviyo_propose_flow recipe that closes it."
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

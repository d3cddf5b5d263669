from __future__ import annotations

from typing import Any

from pydantic import Field

from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.common import AccountParams, OutputModel, PeriodOut


class FlowAuditParams(AccountParams):
    idle_days: int = Field(7, ge=1, le=90, description="Flag a live flow that sent nothing in this many days.")


class StageFlow(OutputModel):
    flow_id: str
    flow_name: UntrustedText | None
    status: str | None
    trigger: str  # e.g. "Metric: Started Checkout", "Added to List"


class LifecycleStage(OutputModel):
    stage: str  # welcome | abandoned_checkout | browse_abandonment | post_purchase | winback | sunset
    covered: bool  # a live flow serves it
    flows: list[StageFlow]
    recipe: str | None  # klaviyo_propose_flow recipe that would add it


class AuditFinding(OutputModel):
    # missing_stage | stage_not_live | stopped_sending | messages_not_live | smart_sending_off | revenue_decay
    kind: str
    severity: str  # high | medium | low
    stage: str | None
    flow_id: str | None
    flow_name: UntrustedText | None
    detail: str
    evidence: dict[str, Any]
    recipe: str | None  # klaviyo_propose_flow recipe that would close it


class AuditWindows(OutputModel):
    activity: PeriodOut  # daily sends read for "stopped"
    decay: PeriodOut  # the whole months compared for revenue per recipient


class FlowAuditResult(OutputModel):
    flows_checked: int
    lifecycle: list[LifecycleStage]
    findings: list[AuditFinding]
    windows: AuditWindows

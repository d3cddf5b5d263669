from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from klaviyo_analytics.rules.bands import BandsSource
from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.common import (
    AccountParams,
    KlaviyoId,
    MoneyAnswer,
    OutputModel,
    PerformanceStats,
    WindowParams,
)

FlowStatus = Annotated[str, StringConstraints(pattern=r"^[a-z]{1,20}$"), Field(description="e.g. live, manual, draft.")]


class GetFlowsParams(AccountParams):
    status: FlowStatus | None = None
    archived: bool | None = Field(None, description="true: only archived flows; false: only active ones.")


class FlowOut(OutputModel):
    flow_id: str
    name: UntrustedText | None
    status: str | None
    trigger_type: str | None
    archived: bool | None
    created: str | None
    updated: str | None


class GetFlowsResult(OutputModel):
    flows: list[FlowOut]
    flow_count: int


class FlowPerformanceParams(WindowParams):
    flow: KlaviyoId | None = Field(None, description="Only this flow id.")
    resolve_message_names: bool = Field(True, description="Include flow and message names (no extra calls).")
    rollup: bool = Field(False, description="One summed row per flow instead of per message and channel.")


class FlowRow(PerformanceStats):
    flow_id: str
    flow_name: UntrustedText | None
    flow_message_id: str | None
    flow_message_name: UntrustedText | None
    send_channel: str | None


class FlowPerformanceResult(MoneyAnswer):
    flows: list[FlowRow]
    flow_count: int
    health_bands: BandsSource


class FlowStructureParams(AccountParams):
    flow_id: KlaviyoId


class FlowStep(OutputModel):
    flow_action_id: str  # a Klaviyo flow action (klaviyo_propose_update_flow takes it)
    action_type: str
    status: str | None
    message_id: str | None
    message_name: UntrustedText | None
    channel: str | None
    subject: UntrustedText | None


class FlowStructureResult(OutputModel):
    flow_id: str
    flow_name: UntrustedText | None
    status: str | None
    trigger_type: str | None
    action_count: int
    steps: list[FlowStep]
    summary: dict[str, int]

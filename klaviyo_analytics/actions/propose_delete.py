"""klaviyo_propose_delete_flow: deleting a flow is destructive, so the proposal says what goes with it.

Refused for a live flow (pause it first: deleting would stop live sends). Otherwise the proposal
lists the messages that are deleted with the flow and the flow's last 30 days of attributed revenue
(the reporting API; a failed read is a warning, not a refusal), and execute reads the flow again
just before the DELETE (preconditions.flow_not_live): a flow turned on after approval is not deleted.
"""

from __future__ import annotations

from klaviyo_analytics.actions import preconditions
from klaviyo_analytics.actions.plans import step
from klaviyo_analytics.actions.proposing import Reader, shown_name, store
from klaviyo_analytics.errors import ForbiddenActionError, KlaviyoMCPError
from klaviyo_analytics.rules import untrusted
from klaviyo_analytics.schemas.actions import ActionView, DeleteFlowParams
from klaviyo_analytics.schemas.flows import FlowPerformanceParams
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.flows import get_flow_performance

SHOWN_MESSAGES = 10


def _revenue(service: KlaviyoService, params: DeleteFlowParams, ctx: CallContext) -> tuple[float | None, str]:
    try:
        report = get_flow_performance(
            service,
            FlowPerformanceParams(account=params.account, flow=params.flow_id, rollup=True, timeframe="last_30_days"),
            ctx,
        )
    except KlaviyoMCPError as exc:
        return (
            None,
            f"Its last 30 days of revenue could not be read ({exc.code}); check it in Klaviyo before approving.",
        )
    return sum(row.conversion_value for row in report.data.flows), ""


def propose_delete_flow(service: KlaviyoService, params: DeleteFlowParams, ctx: CallContext) -> ToolResult[ActionView]:
    account = service.account(params.account)
    reader = Reader(service, account, ctx)
    flow = reader.require(f"/api/flows/{params.flow_id}", "flow_id", "flow")
    status = str((flow.get("attributes") or {}).get("status") or "unknown")
    label = f"the flow {shown_name(flow)!r} ({params.flow_id})"
    if status == "live":
        raise ForbiddenActionError(
            f"{label} is live: deleting it stops what it sends. Pause it first (klaviyo_propose_pause_flow), "
            "then propose the delete.",
            field="flow_id",
            status=status,
        )
    actions = reader.all(f"/api/flows/{params.flow_id}/flow-actions", {"page[size]": "50"})
    messages = []
    for action in actions:
        message = (((action.get("attributes") or {}).get("definition") or {}).get("data") or {}).get("message")
        if isinstance(message, dict):
            messages.append(untrusted.clean(str(message.get("name") or message.get("subject_line") or "a message")))
    revenue, problem = _revenue(service, params, ctx)
    warnings = ["DESTRUCTIVE: the flow, its actions and messages are deleted in Klaviyo; this cannot be undone."]
    warnings += [problem] if problem else []
    shown = ", ".join(repr(m) for m in messages[:SHOWN_MESSAGES]) + (" …" if len(messages) > SHOWN_MESSAGES else "")
    money = f"{revenue:,.2f} in attributed revenue in the last 30 days" if revenue is not None else "revenue unknown"
    summary = (
        f"Delete {label} ({status}) with its {len(actions)} actions and {len(messages)} messages"
        f"{': ' + shown if messages else ''}; {money}."
    )
    plan = [
        step(
            "delete_flow", f"Delete {label}", "DELETE", "/api/flows/{flow_id}", path_params={"flow_id": params.flow_id}
        )
    ]
    plan[0]["precondition"] = preconditions.flow_not_live(params.flow_id)
    return store(service, account, "delete_flow", params, plan, summary, warnings, ctx)

"""Flows: listing, per-message performance, and the ordered structure of one flow."""

from __future__ import annotations

from collections import Counter
from typing import Any

from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.bands import BandsSource, mpp_warning
from klaviyo_analytics.rules.timeframes import Period, resolve_period
from klaviyo_analytics.schemas.flows import (
    FlowOut,
    FlowPerformanceParams,
    FlowPerformanceResult,
    FlowRow,
    FlowStep,
    FlowStructureParams,
    FlowStructureResult,
    GetFlowsParams,
    GetFlowsResult,
)
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.entities import empty_reason, ensure_exists
from klaviyo_analytics.service.reports import GROUP_BY, TIME_BASIS_WARNING, Summed, summed_values_report

FLOW_GROUP_BY = GROUP_BY["flow"]
SEND_CHANNELS = {
    "send-email": "email",
    "send-sms": "sms",
    "send-mobile-push": "mobile_push",
    "send-whatsapp": "whatsapp",
}


def get_flows(svc: KlaviyoService, params: GetFlowsParams, ctx: CallContext) -> ToolResult[GetFlowsResult]:
    account = svc.account(params.account)
    filters = []
    if params.status is not None:
        filters.append(f"equals(status,'{params.status}')")
    if params.archived is not None:
        filters.append(f"equals(archived,{str(params.archived).lower()})")
    query: dict[str, str] = {"page[size]": "50", "fields[flow]": "name,status,archived,created,updated,trigger_type"}
    if filters:
        query["filter"] = filters[0] if len(filters) == 1 else f"and({','.join(filters)})"
    items = svc.client.get_all(account, "/api/flows", query, deadline=ctx.deadline)
    flows = [
        FlowOut(
            flow_id=str(item["id"]),
            name=attrs.get("name"),
            status=attrs.get("status"),
            trigger_type=attrs.get("trigger_type"),
            archived=attrs.get("archived"),
            created=attrs.get("created"),
            updated=attrs.get("updated"),
        )
        for item in items
        for attrs in [item.get("attributes") or {}]
    ]
    return ToolResult(GetFlowsResult(flows=flows, flow_count=len(flows)), account=account.slug)


def flow_counts(
    svc: KlaviyoService, account: Account, period: Period, flow: str | None, ctx: CallContext
) -> tuple[dict[tuple[str, ...], Summed], list[str]]:
    """Counts per (flow, message, channel), summed over chunks, with names from the report itself.

    One flow (``flow``) and the per-flow rollup are both read from the account-wide report.
    """
    return summed_values_report(
        svc, account, "flow", period, ctx, key_fields=["flow_id", "flow_message_id", "send_channel"], only_id=flow
    )


def get_flow_performance(
    svc: KlaviyoService, params: FlowPerformanceParams, ctx: CallContext
) -> ToolResult[FlowPerformanceResult]:
    account = svc.account(params.account)
    period = resolve_period(params.start_date, params.end_date, params.timeframe, svc.today(account))
    assert period is not None
    rows, warnings = flow_counts(svc, account, period, params.flow, ctx)
    if not rows:
        if params.flow:
            ensure_exists(svc, account, "flow", params.flow, ctx, field="flow")
        warnings.append(empty_reason("flow", period, params.flow))
    names = params.resolve_message_names
    out: list[FlowRow] = []
    if params.rollup:
        per_flow: dict[str, Summed] = {}
        for (flow_id, _, _), entry in rows.items():
            total = per_flow.setdefault(flow_id, Summed())
            stats.add_counts(total.counts, entry.counts)
            total.labels.setdefault("flow_name", []).extend(entry.labels.get("flow_name", []))
        for flow_id, total in per_flow.items():
            out.append(
                FlowRow(
                    flow_id=flow_id, flow_name=total.label("flow_name") if names else None, flow_message_id=None,
                    flow_message_name=None, send_channel=None, **stats.row_stats(total.counts),
                )
            )  # fmt: skip
    else:
        for (flow_id, message_id, channel), entry in rows.items():
            out.append(
                FlowRow(
                    flow_id=flow_id, flow_name=entry.label("flow_name") if names else None,
                    flow_message_id=message_id or None,
                    flow_message_name=entry.label("flow_message_name") if names else None,
                    send_channel=channel or None, **stats.row_stats(entry.counts),
                )
            )  # fmt: skip
    out.sort(key=lambda r: (-r.conversion_value, -r.sent, r.flow_id, r.flow_message_id or ""))
    return ToolResult(
        FlowPerformanceResult(flows=out, flow_count=len({r.flow_id for r in out}), health_bands=BandsSource()),
        account=account.slug,
        period=period,
        warnings=[TIME_BASIS_WARNING, *warnings, *mpp_warning(out)],
    )


def _message_of(action: dict[str, Any]) -> dict[str, Any]:
    definition = (action.get("attributes") or {}).get("definition") or {}
    data = definition.get("data") or {}
    message = data.get("message")
    return message if isinstance(message, dict) else {}


def get_flow_structure(
    svc: KlaviyoService, params: FlowStructureParams, ctx: CallContext
) -> ToolResult[FlowStructureResult]:
    """Ordered actions of a flow. At 2026-07-15 each flow-action carries its definition, whose
    send steps embed the message (id, name, subject): one paged call answers, and only a send
    step without an embedded message costs a ``flow-messages`` lookup."""
    account = svc.account(params.account)
    flow = svc.client.get(
        account, f"/api/flows/{params.flow_id}", {"fields[flow]": "name,status,trigger_type"}, deadline=ctx.deadline
    )
    flow_attrs = (flow.get("data") or {}).get("attributes") or {}
    actions = svc.client.get_all(
        account, f"/api/flows/{params.flow_id}/flow-actions", {"page[size]": "50"}, deadline=ctx.deadline
    )
    warnings: list[str] = []
    steps = []
    for action in actions:
        definition = (action.get("attributes") or {}).get("definition") or {}
        action_type = str(definition.get("type") or "unknown")
        channel = SEND_CHANNELS.get(action_type)
        message = _message_of(action) if channel else {}
        if channel and not message.get("id"):
            message = _lookup_message(svc, account, str(action["id"]), ctx, warnings)
        steps.append(
            FlowStep(
                flow_action_id=str(action["id"]),
                action_type=action_type,
                status=((definition.get("data") or {}).get("status")),
                message_id=message.get("id"),
                message_name=message.get("name"),
                channel=channel,
                subject=message.get("subject_line") or message.get("subject"),
            )
        )
    summary = dict(Counter(step.action_type for step in steps))
    result = FlowStructureResult(
        flow_id=params.flow_id,
        flow_name=flow_attrs.get("name"),
        status=flow_attrs.get("status"),
        trigger_type=flow_attrs.get("trigger_type"),
        action_count=len(steps),
        steps=steps,
        summary=summary,
    )
    return ToolResult(result, account=account.slug, warnings=warnings)


def _lookup_message(
    svc: KlaviyoService, account: Account, action_id: str, ctx: CallContext, warnings: list[str]
) -> dict[str, Any]:
    try:
        items = svc.client.get_all(account, f"/api/flow-actions/{action_id}/flow-messages", deadline=ctx.deadline)
    except KlaviyoMCPError as exc:
        warnings.append(f"The message of action {action_id} could not be read ({exc.code}).")
        ctx.incomplete.append(f"message of action {action_id}")
        return {}
    if not items:
        return {}
    first = items[0]
    attrs = first.get("attributes") or {}
    definition = attrs.get("definition") or {}
    return {"id": first.get("id"), "name": attrs.get("name") or definition.get("name"), **definition}

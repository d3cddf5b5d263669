"""What is missing or broken in a store's automation, with evidence and the recipe that closes each gap.

Calls, cheapest first: the flows with their actions in one paged ``GET /api/flows?include=flow-actions``
(each action's definition carries its status and message settings); which metric triggers which
flow, and the metrics' ids, from one ``GET /api/metrics?include=flow-triggers``; recent sends per flow
from two metric aggregates (Received Email and Received SMS by ``$flow``, daily) — no report quota;
and revenue per recipient by month from the one flow-series report the over-time tool also asks for
(so it is shared through the cache): at most one Reporting API call, none when the series is cached.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules import lifecycle
from klaviyo_analytics.rules.bands import MIN_BAND_DELIVERIES
from klaviyo_analytics.rules.timeframes import Period
from klaviyo_analytics.schemas.common import PeriodOut
from klaviyo_analytics.schemas.flow_audit import (
    AuditFinding,
    AuditWindows,
    FlowAuditParams,
    FlowAuditResult,
    LifecycleStage,
    StageFlow,
)
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.freshness import report_ttl
from klaviyo_analytics.service.metrics import aggregate, conversion_metric_id
from klaviyo_analytics.service.trends import flow_series_attributes

FLOW_TTL_SECONDS = 600.0  # a flow's status and steps change when someone edits it; ten minutes is fresh enough
HISTORY_DAYS = 60  # how far back "it used to send" looks
DECAY_MONTHS = 6
DECAY_DROP = 0.25  # revenue per recipient down this much (last 3 months vs the 3 before) is decay
SEND_ACTIONS = {"send-email", "send-sms", "send-mobile-push", "send-whatsapp"}
RECEIVED = ("Received Email", "Received SMS")


def read_flows(svc: KlaviyoService, account: Account, ctx: CallContext) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Unarchived flows and their actions by id, in one paged call."""
    flows: list[dict[str, Any]] = []
    actions: dict[str, Any] = {}
    query = {"page[size]": "50", "include": "flow-actions", "filter": "equals(archived,false)"}
    for page in svc.client.paginate(account, "/api/flows", query, deadline=ctx.deadline, cache_ttl=FLOW_TTL_SECONDS):
        flows.extend(page.get("data") or [])
        for item in page.get("included") or []:
            if item.get("type") == "flow-action":
                actions[str(item["id"])] = item
    return flows, actions


def trigger_metrics(svc: KlaviyoService, account: Account, ctx: CallContext) -> tuple[dict[str, str], dict[str, str]]:
    """Flow id -> the name of the metric that triggers it, and the metrics' ids by name (one call)."""
    items = svc.client.get_all(
        account, "/api/metrics", {"include": "flow-triggers"}, deadline=ctx.deadline, cache_ttl=FLOW_TTL_SECONDS
    )
    out: dict[str, str] = {}
    ids: dict[str, str] = {}
    for item in items:
        name = str((item.get("attributes") or {}).get("name") or "")
        ids.setdefault(name, str(item.get("id")))
        related = ((item.get("relationships") or {}).get("flow-triggers") or {}).get("data") or []
        for ref in related:
            out.setdefault(str(ref.get("id")), name)
    return out, ids


def daily_sends(
    svc: KlaviyoService, account: Account, period: Period, metric_ids: dict[str, str], ctx: CallContext
) -> tuple[list[str], dict[str, list[float]]]:
    """Messages received per flow per day over ``period`` (email and SMS)."""
    dates: list[str] = []
    per_flow: dict[str, list[float]] = {}
    for name in RECEIVED:
        if name not in metric_ids:
            continue
        result = aggregate(svc, account, metric_ids[name], period, ctx, measurements=["count"], by=["$flow"])
        dates = result.dates or dates
        for dims, values in result.rows:
            if dims and dims[0]:
                counts = values.get("count", [])
                current = per_flow.get(dims[0]) or [0.0] * len(counts)
                per_flow[dims[0]] = [a + b for a, b in zip(current, counts, strict=False)]
    return dates, per_flow


def monthly_rpr(
    svc: KlaviyoService, account: Account, period: Period, ctx: CallContext
) -> tuple[list[str], dict[str, list[tuple[float, float]]]]:
    """(conversion value, delivered) per flow per month, from the shared monthly flow-series report."""
    attributes = flow_series_attributes(conversion_metric_id(svc, account, ctx), "monthly")
    report = svc.values_report(
        account, "flow-series", period, attributes, ctx, cache_ttl=report_ttl(svc, account, period, ctx)
    )
    months = len(report.date_times)
    out: dict[str, list[tuple[float, float]]] = defaultdict(lambda: [(0.0, 0.0)] * months)
    for result in report.results:
        flow = str((result.get("groupings") or {}).get("flow_id") or "")
        values = result.get("statistics") or {}
        value = [float(x or 0) for x in values.get("conversion_value") or []] + [0.0] * months
        delivered = [float(x or 0) for x in values.get("delivered") or []] + [0.0] * months
        out[flow] = [(v + value[i], d + delivered[i]) for i, (v, d) in enumerate(out[flow])]
    return report.date_times, out


def decay_window(today: date) -> Period:
    """The last ``DECAY_MONTHS`` whole months before this one."""
    end = today.replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    for _ in range(DECAY_MONTHS - 1):
        start = (start - timedelta(days=1)).replace(day=1)
    return Period(start, end)


def _finding(kind: str, severity: str, detail: str, evidence: dict[str, Any], **kw: Any) -> AuditFinding:
    fields = {"stage": None, "flow_id": None, "flow_name": None, "recipe": None, **kw}
    return AuditFinding(kind=kind, severity=severity, detail=detail, evidence=evidence, **fields)


def audit_flow(
    flow: dict[str, Any], actions: dict[str, Any], stage: str | None, sends: list[float] | None,
    dates: list[str], idle_days: int,
) -> list[AuditFinding]:  # fmt: skip
    """The findings about one live flow's steps and recent sends."""
    out: list[AuditFinding] = []
    about = {"flow_id": str(flow["id"]), "flow_name": (flow.get("attributes") or {}).get("name"), "stage": stage}
    steps = [actions[ref["id"]] for ref in ((flow.get("relationships") or {}).get("flow-actions") or {}).get("data")
             or [] if ref.get("id") in actions]  # fmt: skip
    not_live: list[dict[str, Any]] = []
    smart_off: list[str] = []
    for step in steps:
        definition = (step.get("attributes") or {}).get("definition") or {}
        if definition.get("type") not in SEND_ACTIONS:
            continue
        data = definition.get("data") or {}
        message = data.get("message") or {}
        if data.get("status") in ("draft", "manual", "disabled"):
            not_live.append({"flow_action_id": str(step["id"]), "status": data.get("status")})
        if (
            message.get("smart_sending_enabled") is False
            and not message.get("transactional")
            and stage not in lifecycle.SMART_SENDING_OFF_OK
        ):
            smart_off.append(str(step["id"]))
    if not_live:
        out.append(_finding("messages_not_live", "high", f"{len(not_live)} message(s) of this live flow do not send "
                            "automatically (draft, manual or disabled).", {"actions": not_live}, **about))  # fmt: skip
    if smart_off:
        out.append(_finding("smart_sending_off", "low", "Smart Sending is off on non-transactional message(s) of a "
                            "flow where it is usually on.", {"flow_action_ids": smart_off}, **about))  # fmt: skip
    history = sends or [0.0] * len(dates)
    recent, before = history[-idle_days:], history[:-idle_days]
    if not sum(recent):
        sent_days = [dates[i][:10] for i, v in enumerate(history) if v]
        evidence = {"sent_last_days": 0, "days": idle_days, "last_send": sent_days[-1] if sent_days else None,
                    "sent_before": round(sum(before)), "history_days": len(history)}  # fmt: skip
        detail = (
            f"Live but sent nothing in the last {idle_days} days after {round(sum(before))} sends before: check "
            "its trigger."
            if sum(before)
            else f"Live but sent nothing in {len(history)} days."
        )
        out.append(_finding("stopped_sending", "high" if sum(before) else "medium", detail, evidence, **about))
    return out


def decay_finding(flow: dict[str, Any], stage: str | None, months: list[str],
                  cells: list[tuple[float, float]]) -> AuditFinding | None:  # fmt: skip
    """Revenue per recipient of the last three months against the three before."""
    half = len(cells) // 2
    early, late = cells[:half], cells[half:]
    early_d, late_d = sum(d for _, d in early), sum(d for _, d in late)
    if half < 2 or early_d < MIN_BAND_DELIVERIES or late_d < MIN_BAND_DELIVERIES:
        return None
    before = sum(v for v, _ in early) / early_d
    after = sum(v for v, _ in late) / late_d
    if before <= 0 or after > before * (1 - DECAY_DROP):
        return None
    rpr = [stats.ratio(v, d, stats.VALUE_DIGITS) for v, d in cells]
    return _finding(
        "revenue_decay", "medium", f"Revenue per recipient fell {round(100 * (1 - after / before))}% "
        f"(last {len(late)} months vs the {len(early)} before): refresh its content or offer.",
        {"months": [m[:7] for m in months], "revenue_per_recipient": rpr, "before": round(before, 2),
         "after": round(after, 2)},
        flow_id=str(flow["id"]), flow_name=(flow.get("attributes") or {}).get("name"), stage=stage,
    )  # fmt: skip


def audit_flows(svc: KlaviyoService, params: FlowAuditParams, ctx: CallContext) -> ToolResult[FlowAuditResult]:
    account = svc.account(params.account)
    today = svc.today(account)
    flows, actions = read_flows(svc, account, ctx)
    triggers, metric_ids = trigger_metrics(svc, account, ctx)
    activity = Period(today - timedelta(days=max(HISTORY_DAYS, params.idle_days + 30)), today - timedelta(days=1))
    dates, sends = daily_sends(svc, account, activity, metric_ids, ctx)
    decay = decay_window(today)
    months, rpr = monthly_rpr(svc, account, decay, ctx)
    stages: dict[str, list[StageFlow]] = {stage: [] for stage in lifecycle.STAGES}
    findings: list[AuditFinding] = []
    for flow in flows:
        attrs = flow.get("attributes") or {}
        flow_id = str(flow["id"])
        metric = triggers.get(flow_id)
        stage = lifecycle.stage_of(str(attrs.get("name") or ""), attrs.get("trigger_type"), metric)
        if stage:
            trigger = lifecycle.trigger_text(attrs.get("trigger_type"), metric)
            stages[stage].append(
                StageFlow(flow_id=flow_id, flow_name=attrs.get("name"), status=attrs.get("status"), trigger=trigger)
            )
        if attrs.get("status") != "live":
            continue
        findings += audit_flow(flow, actions, stage, sends.get(flow_id), dates, params.idle_days)
        decayed = decay_finding(flow, stage, months, rpr.get(flow_id, []))
        if decayed:
            findings.append(decayed)
    lifecycle_out = []
    for stage, members in stages.items():
        covered = any(m.status == "live" for m in members)
        recipe = lifecycle.recipe_for(stage)
        lifecycle_out.append(LifecycleStage(stage=stage, covered=covered, flows=members, recipe=recipe))
        if not members:
            findings.append(_finding("missing_stage", "high", f"No flow serves the {stage} stage (judged from "
                                     "flow names and triggers).", {"flows_checked": len(flows)}, stage=stage,
                                     recipe=recipe))  # fmt: skip
        elif not covered:
            findings.append(_finding("stage_not_live", "medium", f"The {stage} stage has flows but none is live.",
                                     {"flows": [{"flow_id": m.flow_id, "status": m.status} for m in members]},
                                     stage=stage, recipe=recipe))  # fmt: skip
    order = {"high": 0, "medium": 1, "low": 2}
    findings.sort(key=lambda f: (order[f.severity], f.kind, f.flow_id or ""))
    result = FlowAuditResult(
        flows_checked=len(flows), lifecycle=lifecycle_out, findings=findings,
        windows=AuditWindows(activity=PeriodOut(**activity.to_dict()), decay=PeriodOut(**decay.to_dict())),
    )  # fmt: skip
    warnings = ["Stages are judged from flow names and triggers; a flow named unusually may be missed."]
    return ToolResult(result, account=account.slug, warnings=warnings)

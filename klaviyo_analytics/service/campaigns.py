"""klaviyo_get_campaign_performance: per-campaign results over a window.

One campaign-values report call per (≤ 1 year) chunk carries the counts *and* each message's
name (``group_by`` includes ``campaign_message_name``); it is the account-wide canonical report
of reports.py, shared with the comparison and single-campaign questions. Campaign names and send times come
from at most one ``GET /api/campaigns`` per channel, filtered to the ids in the report —
never one lookup per campaign.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from klaviyo_analytics.errors import InvalidArgumentError, KlaviyoMCPError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.bands import BandsSource, mpp_warning
from klaviyo_analytics.rules.timeframes import Period, resolve_period
from klaviyo_analytics.schemas.campaigns import (
    CAMPAIGN_STATUSES,
    Audiences,
    CampaignOut,
    CampaignPerformanceParams,
    CampaignPerformanceResult,
    CampaignRow,
    GetCampaignsParams,
    GetCampaignsResult,
)
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.entities import empty_reason, ensure_exists
from klaviyo_analytics.service.reports import GROUP_BY as REPORT_GROUP_BY
from klaviyo_analytics.service.reports import TIME_BASIS_WARNING, Summed, summed_values_report

GROUP_BY = REPORT_GROUP_BY["campaign"]
# The report calls push notifications `push-notification`; the campaigns API calls them `mobile_push`.
CAMPAIGN_CHANNELS = {"email": "email", "sms": "sms", "push-notification": "mobile_push"}
ID_BATCH = 100  # Klaviyo's limit on items in one list filter


def campaign_counts(
    svc: KlaviyoService, account: Account, period: Period, campaign: str | None, ctx: CallContext
) -> tuple[dict[tuple[str, ...], Summed], list[str]]:
    """Counts per campaign id (summed over messages and chunks), plus any chunking warning.

    One campaign (``campaign``) is selected from the account-wide report of the window, so asking
    about it after asking about all of them (or before) costs no second report call.
    """
    return summed_values_report(svc, account, "campaign", period, ctx, key_fields=["campaign_id"], only_id=campaign)


def campaign_details(
    svc: KlaviyoService, account: Account, ids_by_channel: dict[str, list[str]], ctx: CallContext
) -> dict[str, dict[str, Any]]:
    """Name, status, send time and audiences of the given campaigns: one paged call per channel."""
    details: dict[str, dict[str, Any]] = {}
    for channel, ids in ids_by_channel.items():
        for batch in _batches(sorted(set(ids)), ID_BATCH):
            id_list = json.dumps(batch)
            params = {
                "filter": f"and(equals(messages.channel,'{channel}'),any(id,{id_list}))",
                "fields[campaign]": "name,status,send_time,scheduled_at,audiences,archived,created_at",
            }
            for item in svc.client.get_all(account, "/api/campaigns", params, deadline=ctx.deadline):
                details[str(item.get("id"))] = item.get("attributes") or {}
    return details


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def attribution_note(counts: dict[str, float], send_time: str | None, period: Period) -> str | None:
    """Why a row with nothing sent has activity: the send fell before the window, the orders in it."""
    if counts.get("sent", 0.0) or not (counts.get("conversion_value") or counts.get("conversions")):
        return None
    when = f"on {send_time[:10]}, " if send_time else ""
    return (f"Sent {when}before {period.start}: its conversions and revenue in the window are attributed to "
            "that send (Klaviyo counts them by event time, sends by send date).")  # fmt: skip


def get_campaign_performance(
    svc: KlaviyoService, params: CampaignPerformanceParams, ctx: CallContext
) -> ToolResult[CampaignPerformanceResult]:
    account = svc.account(params.account)
    period = resolve_period(params.start_date, params.end_date, params.timeframe, svc.today(account))
    assert period is not None  # required=True
    per_campaign, warnings = campaign_counts(svc, account, period, params.campaign, ctx)
    if not per_campaign:
        if params.campaign:
            ensure_exists(svc, account, "campaign", params.campaign, ctx, field="campaign")
        warnings.append(empty_reason("campaign", period, params.campaign))

    details: dict[str, dict[str, Any]] = {}
    if params.resolve_campaign_names and per_campaign:
        ids_by_channel: dict[str, list[str]] = {}
        for (campaign_id,), entry in per_campaign.items():
            channel = CAMPAIGN_CHANNELS.get(str(entry.label("send_channel")), "email")
            ids_by_channel.setdefault(channel, []).append(campaign_id)
        try:
            details = campaign_details(svc, account, ids_by_channel, ctx)
        except KlaviyoMCPError as exc:
            # Names are a convenience: the numbers still answer the question.
            warnings.append(f"Campaign names could not be fetched ({exc.code}); message names are shown instead.")
            ctx.incomplete.append("campaign names")

    rows = []
    for (campaign_id,), entry in per_campaign.items():
        info = details.get(campaign_id, {})
        message_names = entry.labels.get("campaign_message_name")
        rows.append(
            CampaignRow(
                campaign_id=campaign_id,
                campaign_name=info.get("name") or (" / ".join(message_names) if message_names else None),
                send_channel=entry.label("send_channel"),
                send_time=info.get("send_time"),
                note=attribution_note(entry.counts, info.get("send_time"), period),
                **stats.row_stats(entry.counts),
            )
        )
    rows.sort(key=lambda r: (-r.conversion_value, -r.sent, r.campaign_id))
    warnings.insert(0, TIME_BASIS_WARNING)
    warnings += mpp_warning(rows)
    return ToolResult(
        CampaignPerformanceResult(campaigns=rows, campaign_count=len(rows), health_bands=BandsSource()),
        account=account.slug,
        period=period,
        warnings=warnings,
    )


def get_campaigns(svc: KlaviyoService, params: GetCampaignsParams, ctx: CallContext) -> ToolResult[GetCampaignsResult]:
    """Campaigns with status, send time and audiences: one paged call per channel (Klaviyo requires one)."""
    account = svc.account(params.account)
    if params.status is not None and params.status not in CAMPAIGN_STATUSES:
        raise InvalidArgumentError(
            f"status must be one of: {', '.join(CAMPAIGN_STATUSES)}", field="status", allowed=list(CAMPAIGN_STATUSES)
        )
    campaigns = []
    for channel in [params.channel] if params.channel else ["email", "sms"]:
        filters = [f"equals(messages.channel,'{channel}')", f"equals(archived,{str(params.archived).lower()})"]
        if params.status:
            filters.append(f"equals(status,{json.dumps(params.status)})")
        if params.name_contains:
            filters.append(f"contains(name,{json.dumps(params.name_contains)})")
        query = {"filter": f"and({','.join(filters)})", "sort": "-created_at"}
        for item in svc.client.get_all(account, "/api/campaigns", query, deadline=ctx.deadline):
            attrs = item.get("attributes") or {}
            audiences = attrs.get("audiences") or {}
            campaigns.append(
                CampaignOut(
                    campaign_id=str(item["id"]), name=attrs.get("name"), channel=channel, status=attrs.get("status"),
                    send_time=attrs.get("send_time"), scheduled_at=attrs.get("scheduled_at"),
                    created_at=attrs.get("created_at"), archived=attrs.get("archived"),
                    audiences=Audiences(
                        included=list(audiences.get("included") or []), excluded=list(audiences.get("excluded") or [])
                    ),
                )
            )  # fmt: skip
    campaigns.sort(key=lambda c: c.send_time or c.scheduled_at or c.created_at or "", reverse=True)
    return ToolResult(GetCampaignsResult(campaigns=campaigns, campaign_count=len(campaigns)), account=account.slug)

"""Engagement tools: an A/B test's readout, the links people clicked, and whether sending more goes
with more unsubscribes. All three read metric aggregates only (no Reporting-API quota); the
message tools find the campaign or flow message first, so a wrong id is NOT_FOUND before any
aggregate call (message_ref.py)."""

from __future__ import annotations

from klaviyo_analytics.rules.timeframes import chunk
from klaviyo_analytics.rules.tracking_params import strip_tracking
from klaviyo_analytics.schemas.engagement import (
    AbResultsParams,
    AbResultsResult,
    LinkClicksParams,
    LinkClicksResult,
    LinkRow,
    SendFatigueParams,
    SendFatigueResult,
    TrackedUrl,
)
from klaviyo_analytics.service import abtests, fatigue, message_ref
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult

EVENT_TIME = "Counts are metric aggregates by event time; Klaviyo's campaign and flow reports may differ slightly."
CLICKED = {"email": "Clicked Email", "sms": "Clicked SMS"}


def _chunk_warning(days: int, parts: int) -> list[str]:
    if parts < 2:
        return []
    return [f"The {days}-day window is longer than the API's one year, so it was fetched in {parts} parts and summed."]


def get_ab_results(svc: KlaviyoService, params: AbResultsParams, ctx: CallContext) -> ToolResult[AbResultsResult]:
    account = svc.account(params.account)
    message = message_ref.resolve(svc, account, params, ctx)
    period = message_ref.window(svc, account, params, message)
    warnings = [EVENT_TIME, *_chunk_warning(period.days, len(chunk(period)))]
    found = abtests.readout(svc, account, message, period, ctx)
    if found is None:
        result = AbResultsResult(
            message=message.ref, has_ab_test=False, verdict=abtests.NO_TEST, winner=None, variations=[], tests=[],
            method=abtests.METHOD,
        )  # fmt: skip
        return ToolResult(result, account=account.slug, period=period, warnings=warnings)
    winner, verdict = abtests.verdict(found, params.winning_metric)
    if found.unassigned:
        warnings.append(f"{found.unassigned:,.0f} deliveries in the window carry no variation and are left out.")
    result = AbResultsResult(
        message=message.ref, has_ab_test=True, verdict=verdict, winner=winner, variations=found.variations,
        tests=found.tests, method=abtests.METHOD,
    )  # fmt: skip
    return ToolResult(result, account=account.slug, period=period, warnings=warnings)


def get_link_clicks(svc: KlaviyoService, params: LinkClicksParams, ctx: CallContext) -> ToolResult[LinkClicksResult]:
    """One aggregate call per year of window: the message's clicks by ``URL``, regrouped without tracking."""
    account = svc.account(params.account)
    message = message_ref.resolve(svc, account, params, ctx)
    period = message_ref.window(svc, account, params, message)
    metric = CLICKED.get(message.ref.channel, CLICKED["email"])
    ids = message_ref.metric_ids(svc, account, [metric], ctx)
    clicks = message_ref.totals(
        svc, account, ids.get(metric), period, ctx, measurements=["count", "unique"], by=["URL"],
        filters=[f'equals($message,"{message.ref.message_id}")'],
    )  # fmt: skip
    pages: dict[str, list[tuple[str, dict[str, float]]]] = {}
    params_seen: dict[str, list[str]] = {}
    for (url,), values in clicks.items():
        page, removed = strip_tracking(url) if url else ("(no URL recorded)", [])
        pages.setdefault(page, []).append((url, values))
        params_seen.setdefault(page, [])
        params_seen[page] += [name for name in removed if name not in params_seen[page]]
    total = sum(v["count"] for v in clicks.values())
    rows = []
    for page, variants in pages.items():
        variants.sort(key=lambda item: (-item[1]["count"], item[0]))
        count = sum(v["count"] for _, v in variants)
        rows.append(
            LinkRow(
                url=page, clicks=int(count), unique_clickers=int(sum(v["unique"] for _, v in variants)),
                share_of_clicks=round(count / total, 4) if total else 0.0, tracking_params=params_seen[page],
                tracked_urls=[TrackedUrl(url=u, clicks=int(v["count"]), unique_clickers=int(v["unique"]))
                              for u, v in variants],
            )
        )  # fmt: skip
    rows.sort(key=lambda r: (-r.clicks, r.url))
    warnings = [EVENT_TIME, *_chunk_warning(period.days, len(chunk(period)))]
    if not rows:
        warnings.append(f"No clicks on this message in {period.start}..{period.end}; try a wider window.")
    elif len(rows) > params.limit:
        warnings.append(f"Showing the top {params.limit} of {len(rows)} links by clicks; raise limit for more.")
    result = LinkClicksResult(
        message=message.ref, links=rows[: params.limit], link_count=len(rows), total_clicks=int(total)
    )
    return ToolResult(result, account=account.slug, period=period, warnings=warnings)


def get_send_fatigue(svc: KlaviyoService, params: SendFatigueParams, ctx: CallContext) -> ToolResult[SendFatigueResult]:
    account = svc.account(params.account)
    period = fatigue.whole_weeks(svc.today(account), params.weeks)
    weeks, audience = fatigue.weekly_rows(svc, account, period, ctx)
    correlations = [fatigue.relationship(weeks, rate) for rate in ("unsubscribe_rate", "spam_rate")]
    sending = sum(1 for w in weeks if w.campaign_sends)
    summary = (
        f"{sending} of {len(weeks)} weeks sent campaign email. "
        + " ".join(c.statement for c in correlations)
        + " This is a correlation across weeks, not evidence that sending causes unsubscribes."
    )
    result = SendFatigueResult(
        weeks=weeks, audience=audience, audience_basis=fatigue.AUDIENCE_BASIS, correlations=correlations,
        summary=summary, method=fatigue.METHOD,
    )  # fmt: skip
    return ToolResult(result, account=account.slug, period=period, warnings=[EVENT_TIME])

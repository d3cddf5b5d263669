"""The questions behind the numbers: where revenue comes from, and who leads or trails.

Both read the canonical values reports (reports.py), so a ranking after a performance question
on the same window costs no report call, and the revenue split costs one report per entity plus
one metric aggregate for the total.
"""

from __future__ import annotations

from dataclasses import dataclass

from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.timeframes import Period, chunk, resolve_period
from klaviyo_analytics.schemas.insights import (
    ChannelRevenue,
    Ranked,
    RankParams,
    RankResult,
    RevenueSource,
    RevenueSplitParams,
    RevenueSplitResult,
)
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.entities import empty_reason
from klaviyo_analytics.service.metrics import aggregate, conversion_metric_id
from klaviyo_analytics.service.reports import TIME_BASIS_WARNING, summed_values_report

KEYS = {"campaign": ["campaign_id", "send_channel"], "flow": ["flow_id", "send_channel"]}
NAME_LABEL = {"campaign": "campaign_message_name", "flow": "flow_name"}


@dataclass
class Entity:
    id: str
    name: str | None
    counts: dict[str, float]
    channels: dict[str, float]  # send channel -> revenue


def per_entity(
    svc: KlaviyoService, account: Account, entity: str, period: Period, ctx: CallContext
) -> tuple[dict[str, Entity], list[str]]:
    """Counts per campaign or flow (summed over messages and channels), with revenue per channel."""
    rows, warnings = summed_values_report(svc, account, entity, period, ctx, key_fields=KEYS[entity])
    out: dict[str, Entity] = {}
    for (entity_id, channel), summed in rows.items():
        item = out.setdefault(entity_id, Entity(entity_id, None, dict.fromkeys(stats.TALLIES, 0.0), {}))
        stats.add_counts(item.counts, summed.counts)
        item.name = item.name or summed.label(NAME_LABEL[entity])
        key = channel or "unknown"
        item.channels[key] = item.channels.get(key, 0.0) + summed.counts.get("conversion_value", 0.0)
    return out, warnings


def total_revenue(svc: KlaviyoService, account: Account, metric_id: str, period: Period, ctx: CallContext) -> float:
    total = 0.0
    for window in chunk(period):
        agg = aggregate(svc, account, metric_id, window, ctx, measurements=["sum_value"], interval="month")
        total += sum(sum(values.get("sum_value", [])) for _, values in agg.rows)
    return total


def revenue_split(svc: KlaviyoService, params: RevenueSplitParams, ctx: CallContext) -> ToolResult[RevenueSplitResult]:
    account = svc.account(params.account)
    period = resolve_period(params.start_date, params.end_date, params.timeframe, svc.today(account))
    assert period is not None
    metric_id = conversion_metric_id(svc, account, ctx)
    warnings = [TIME_BASIS_WARNING]
    by_channel: dict[str, dict[str, float]] = {}
    for entity, source in (("campaign", "campaigns"), ("flow", "flows")):
        entities, more = per_entity(svc, account, entity, period, ctx)
        warnings += more
        for item in entities.values():
            for channel, value in item.channels.items():
                cell = by_channel.setdefault(channel, {"campaigns": 0.0, "flows": 0.0})
                cell[source] += value
    total = total_revenue(svc, account, metric_id, period, ctx)
    campaigns = sum(c["campaigns"] for c in by_channel.values())
    flows = sum(c["flows"] for c in by_channel.values())
    other = total - campaigns - flows
    if other < 0:
        # Attributed revenue can exceed the window's total when conversions land outside it.
        warnings.append(
            f"Campaigns and flows are credited {-other:.2f} more than the conversion metric's total in the window "
            "(attribution counts conversions by their own time); other is shown as 0."
        )
        other = 0.0
    base = max(total, campaigns + flows)
    sources = [
        RevenueSource(source=name, revenue=round(value, 2), share=stats.ratio(value, base))
        for name, value in (("campaigns", campaigns), ("flows", flows), ("other", other))
    ]
    channels = sorted(
        (
            ChannelRevenue(
                channel=channel,
                campaigns=round(c["campaigns"], 2),
                flows=round(c["flows"], 2),
                share=stats.ratio(c["campaigns"] + c["flows"], base),
            )
            for channel, c in by_channel.items()
        ),
        key=lambda c: -(c.campaigns + c.flows),
    )
    email = by_channel.get("email", {})
    if not base:
        warnings.append(f"No revenue was recorded in {period.start}..{period.end}, so there is nothing to split.")
    result = RevenueSplitResult(
        total_revenue=round(total, 2),
        sources=sources,
        channels=channels,
        email_share=stats.ratio(sum(email.values()), base),
        conversion_metric_id=metric_id,
    )
    return ToolResult(result, account=account.slug, period=period, warnings=warnings)


def rank_entities(svc: KlaviyoService, params: RankParams, ctx: CallContext) -> ToolResult[RankResult]:
    account = svc.account(params.account)
    period = resolve_period(params.start_date, params.end_date, params.timeframe, svc.today(account))
    assert period is not None
    entities, warnings = per_entity(svc, account, params.entity, period, ctx)
    warnings = [TIME_BASIS_WARNING, *warnings]
    eligible = []
    below = 0
    for item in entities.values():
        if item.counts.get("delivered", 0.0) < params.min_delivered:
            below += 1
            continue
        fields = stats.row_stats(item.counts)
        value = fields.get(params.metric)
        if isinstance(value, int | float):
            eligible.append((value, item, fields))
    # Ties: the larger audience first, then the id, so the order never depends on dict order.
    sign = -1 if params.order == "top" else 1
    eligible.sort(key=lambda e: (sign * e[0], -e[1].counts.get("delivered", 0.0), e[1].id))
    ranked = [
        Ranked(rank=i + 1, id=item.id, name=item.name, value=value,
               delivered=round(item.counts.get("delivered", 0.0)), health=fields["health"])
        for i, (value, item, fields) in enumerate(eligible[: params.limit])
    ]  # fmt: skip
    if below:
        warnings.append(
            f"{below} {params.entity}(s) with fewer than {params.min_delivered} deliveries were left out "
            "(min_delivered), so a tiny send cannot top the list."
        )
    if not entities:
        warnings.append(empty_reason(params.entity, period))
    result = RankResult(metric=params.metric, ranked=ranked, eligible=len(eligible), below_floor=below)
    return ToolResult(result, account=account.slug, period=period, warnings=warnings)

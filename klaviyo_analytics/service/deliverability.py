"""Deliverability by mailbox provider: bounce, spam-complaint and unsubscribe rates per inbox provider,
email domain and bounce type, for the account, one campaign or one flow, against the health bands.

Eight metric aggregates answer it (Received Email, Bounced Email, Marked Email as Spam, Unsubscribed
from Email Marketing; each by send and provider, and by provider and domain); no Reporting API call,
so it spends none of the 225 reports a day. Rates follow the reports' definitions (stats.RATES):
bounces over recipients, complaints and unique unsubscribes over deliveries. Aggregates count by
event time, which the answer says. What the API cannot tell (inbox placement, opens per provider
under Apple MPP, complaints Gmail keeps to itself) is stated in ``cannot_know``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from klaviyo_analytics.errors import InvalidArgumentError, NotFoundError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.bands import MIN_BAND_DELIVERIES, BandsSource, band
from klaviyo_analytics.rules.timeframes import Period, chunk, preset_period, resolve_period
from klaviyo_analytics.schemas.deliverability import (
    BounceTypeRow,
    DeliverabilityParams,
    DeliverabilityResult,
    DeliverabilityRow,
    SendBehind,
    WorstFigure,
)
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.entities import ensure_exists
from klaviyo_analytics.service.metrics import aggregate, find_metrics

PROVIDER, DOMAIN, BOUNCE_TYPE = "Inbox Provider", "Email Domain", "Bounce Type"
# Output count -> (metric, measurement); the dimensions every call groups by.
METRICS: dict[str, tuple[str, str]] = {
    "sent": ("Received Email", "count"),
    "bounces": ("Bounced Email", "count"),
    "spam_complaints": ("Marked Email as Spam", "count"),
    "unsubscribes": ("Unsubscribed from Email Marketing", "unique"),
}
# Two groupings per metric keep each answer small (a page holds 500 rows): sends by provider, and
# providers by domain (by bounce type too, for bounces). $flow and Message Name follow from $message.
BY_SEND = ["$message", "$flow", PROVIDER]
BY_DOMAIN = [PROVIDER, DOMAIN]
RATES = ("bounce_rate", "spam_complaint_rate", "unsubscribe_rate")
RATE_COUNT = {"bounce_rate": "bounces", "spam_complaint_rate": "spam_complaints", "unsubscribe_rate": "unsubscribes"}
UNKNOWN = "(unknown)"
DEFAULT_TIMEFRAME = "last_30_days"
TOP_SENDS = 3  # sends listed behind each worst figure
# Klaviyo's default metric-aggregates page; how a next page is announced is not in its spec, so an
# answer that fills one may be cut short, and says so.
AGGREGATE_PAGE = 500
CANNOT_KNOW = [
    "Inbox placement: whether a delivered email reached the inbox, the spam folder or a tab is not in Klaviyo's "
    "API; 'delivered' means the provider accepted it.",
    "Opens per provider are left out: Apple Mail Privacy Protection opens what it receives, so an open rate by "
    "provider mostly measures how many recipients use Apple Mail.",
    "Spam complaints are only those providers report back through feedback loops; Gmail shares complaint data "
    "in aggregate only (Google Postmaster Tools), so its counts here may be incomplete: check Postmaster Tools.",
    "Blocks and deferrals that never become a bounce, sender reputation and SPF/DKIM/DMARC results are not in the API.",
]
EVENT_TIME_NOTE = (
    "Counts are metric events by event time (bounces and complaints fall on the day they happen), so they can "
    "differ slightly from Klaviyo's deliverability tab, which counts by send."
)


@dataclass
class Tally:
    counts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(METRICS, 0.0))

    def add(self, name: str, value: float) -> None:
        self.counts[name] += value

    @property
    def delivered(self) -> float:
        return max(0.0, self.counts["sent"] - self.counts["bounces"])

    def rate(self, name: str) -> float | None:
        count = self.counts[RATE_COUNT[name]]
        return stats.ratio(count, self.counts["sent"] if name == "bounce_rate" else self.delivered)


@dataclass
class Collected:
    by_send: dict[tuple[str, str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_domain: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    bounce_types: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    names: dict[str, str] = field(default_factory=dict)
    full_pages: list[str] = field(default_factory=list)  # metrics whose answer filled a whole page


def scope_filter(svc: KlaviyoService, account: Account, params: DeliverabilityParams, ctx: CallContext) -> list[str]:
    """The aggregates filter of the asked scope; an unknown id is NOT_FOUND before any aggregate call."""
    if params.campaign and params.flow:
        raise InvalidArgumentError("give campaign or flow, not both", field="flow", rule="one_target")
    if params.flow:
        ensure_exists(svc, account, "flow", params.flow, ctx, field="flow")
        return [f'equals($flow,"{params.flow}")']
    if params.campaign:
        try:
            items = svc.client.get_all(
                account, f"/api/campaigns/{params.campaign}/campaign-messages", {"fields[campaign-message]": "id"},
                deadline=ctx.deadline, cache_ttl=3600.0,
            )  # fmt: skip
        except NotFoundError:
            raise NotFoundError(
                f"no campaign with id {params.campaign!r} in account {account.slug!r}; list them with "
                "klaviyo_get_campaigns",
                field="campaign",
                id=params.campaign,
            ) from None
        ids = ",".join(f'"{item["id"]}"' for item in items)
        return [f"any($message,[{ids}])"]
    return []


def collect(svc: KlaviyoService, account: Account, period: Period, filters: list[str], ctx: CallContext) -> Collected:
    found = find_metrics(svc, account, [metric for metric, _ in METRICS.values()], ctx)
    out = Collected()
    windows = chunk(period)
    for name, (metric, measurement) in METRICS.items():
        if metric not in found:
            continue
        by_send = [*BY_SEND, "Message Name"] if name == "sent" else BY_SEND
        by_domain = [*BY_DOMAIN, BOUNCE_TYPE] if name == "bounces" else BY_DOMAIN
        ctx.progress(list(METRICS).index(name), len(METRICS), f"{metric} by provider")
        for window in windows:
            for dims, total in rows(svc, account, found[metric].id, window, measurement, by_send, filters, out, ctx):
                message, flow, provider, label = [*dims, "", "", "", ""][:4]
                out.by_send[(message, flow, provider or UNKNOWN)].add(name, total)
                if label:
                    out.names.setdefault(message, label)
            for dims, total in rows(svc, account, found[metric].id, window, measurement, by_domain, filters, out, ctx):
                provider, domain, bounce_type = [*dims, "", "", ""][:3]
                out.by_domain[(provider or UNKNOWN, domain or UNKNOWN)].add(name, total)
                if name == "bounces":
                    out.bounce_types[bounce_type or UNKNOWN] += total
    return out


def rows(
    svc: KlaviyoService, account: Account, metric_id: str, window: Period, measurement: str, by: list[str],
    filters: list[str], out: Collected, ctx: CallContext,
) -> list[tuple[list[str], float]]:  # fmt: skip
    """One aggregate over ``window`` summed per row (monthly buckets: few numbers for a total)."""
    result = aggregate(svc, account, metric_id, window, ctx, measurements=[measurement], interval="month", by=by,
                       filters=filters)  # fmt: skip
    if len(result.rows) >= AGGREGATE_PAGE:
        out.full_pages.append(" by ".join([metric_id, ", ".join(by)]))
    return [(dims, float(sum(values.get(measurement, [])))) for dims, values in result.rows]


def row(tally: Tally, provider: str | None = None, domain: str | None = None) -> DeliverabilityRow:
    rates = {name: tally.rate(name) for name in RATES}
    judged = tally.delivered >= MIN_BAND_DELIVERIES
    health = {name: b for name, value in rates.items() if judged and (b := band(name, value))}
    return DeliverabilityRow(
        inbox_provider=provider, email_domain=domain, delivered=round(tally.delivered),
        **{name: round(value) for name, value in tally.counts.items()}, **rates, health=health,
    )  # fmt: skip


def rollup(cells: dict[Any, Tally], key: int) -> dict[str, Tally]:
    out: dict[str, Tally] = defaultdict(Tally)
    for parts, tally in cells.items():
        for name, value in tally.counts.items():
            out[parts[key]].add(name, value)
    return out


def worst_figures(collected: Collected, providers: dict[str, Tally], total: Tally, top: int) -> list[WorstFigure]:
    """Per rate, the provider (with enough deliveries to judge) whose rate is highest, and its biggest sends."""
    out = []
    judged = {p: t for p, t in providers.items() if t.delivered >= MIN_BAND_DELIVERIES and p != UNKNOWN}
    for name in RATES:
        candidates = [(t.rate(name) or 0.0, p) for p, t in judged.items()]
        if not candidates:
            continue
        value, provider = max(candidates)
        if not value:
            continue
        count_name = RATE_COUNT[name]
        sends: dict[tuple[str, str], Tally] = defaultdict(Tally)
        for (message, flow, p), tally in collected.by_send.items():
            if p == provider:
                for n, v in tally.counts.items():
                    sends[(message, flow)].add(n, v)
        ranked = sorted(sends.items(), key=lambda item: (-item[1].counts[count_name], item[0]))[:top]
        provider_count = providers[provider].counts[count_name]
        out.append(
            WorstFigure(
                rate=name, inbox_provider=provider, value=value, band=band(name, value), scope_value=total.rate(name),
                sends=[
                    SendBehind(
                        message_id=message or UNKNOWN, message_name=collected.names.get(message), flow_id=flow or None,
                        sent=round(t.counts["sent"]), count=round(t.counts[count_name]), rate=t.rate(name),
                        share_of_provider=stats.ratio(t.counts[count_name], provider_count),
                    )
                    for (message, flow), t in ranked
                    if t.counts[count_name]
                ],
            )
        )  # fmt: skip
    return out


def get_deliverability(
    svc: KlaviyoService, params: DeliverabilityParams, ctx: CallContext
) -> ToolResult[DeliverabilityResult]:
    account = svc.account(params.account)
    today = svc.today(account)
    period = resolve_period(params.start_date, params.end_date, params.timeframe, today, required=False)
    period = period or preset_period(DEFAULT_TIMEFRAME, today)
    filters = scope_filter(svc, account, params, ctx)
    collected = collect(svc, account, period, filters, ctx)
    providers, domains = rollup(collected.by_send, 2), rollup(collected.by_domain, 1)
    provider_of = {domain: provider for provider, domain in collected.by_domain}
    total = Tally()
    for tally in providers.values():
        for name, value in tally.counts.items():
            total.add(name, value)
    bounces = sum(collected.bounce_types.values())
    warnings = [EVENT_TIME_NOTE]
    if collected.full_pages:
        ctx.incomplete.append("rows past Klaviyo's first aggregates page")
        warnings.append(
            f"An aggregate ({'; '.join(collected.full_pages)}) filled a whole page of {AGGREGATE_PAGE} rows, so "
            "later rows may be missing; ask for one campaign or flow, or a shorter window."
        )
    if not total.counts["sent"]:
        warnings.append(f"No email was received in {period.start}..{period.end} for this scope; try a wider window.")
    result = DeliverabilityResult(
        totals=row(total),
        providers=sorted((row(t, p) for p, t in providers.items()), key=lambda r: (-r.sent, r.inbox_provider or "")),
        domains=sorted(
            (row(t, provider_of.get(d), d) for d, t in domains.items()), key=lambda r: (-r.sent, r.email_domain or "")
        ),
        bounce_types=[
            BounceTypeRow(bounce_type=k, bounces=round(v), share=stats.ratio(v, bounces))
            for k, v in sorted(collected.bounce_types.items(), key=lambda kv: -kv[1])
        ],
        worst=worst_figures(collected, providers, total, TOP_SENDS),
        cannot_know=CANNOT_KNOW,
        health_bands=BandsSource(),
    )
    return ToolResult(result, account=account.slug, period=period, warnings=warnings)

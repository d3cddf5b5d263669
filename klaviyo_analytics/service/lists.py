"""List tools: current sizes (health), subscribe/unsubscribe growth, and both per list (breakdown).

Sizes come from :mod:`klaviyo_analytics.service.sizes` (one paced lookup per list). Growth
is event counts of Klaviyo's system metrics, found by name and summed with one
metric-aggregates call per metric and (≤ 1 year) chunk. Per-list growth groups the
``Subscribed to List`` / ``Unsubscribed from List`` events by Klaviyo's ``List`` dimension,
which holds the list's *name*, so rows are joined to list ids by name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from klaviyo_analytics.errors import KlaviyoMCPError, MissingScopeError, UpstreamAuthError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules import untrusted
from klaviyo_analytics.rules.timeframes import Period, chunk, resolve_period
from klaviyo_analytics.schemas.common import WindowParams
from klaviyo_analytics.schemas.lists import (
    BreakdownTotals,
    ChannelGrowth,
    GrowthCounts,
    ListBreakdownParams,
    ListBreakdownResult,
    ListBreakdownRow,
    ListGrowthByListParams,
    ListGrowthByListResult,
    ListGrowthParams,
    ListGrowthResult,
    ListGrowthRow,
    ListHealthParams,
    ListHealthResult,
    ListHealthRow,
)
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.metrics import aggregate, find_metrics
from klaviyo_analytics.service.reports import chunk_warning
from klaviyo_analytics.service.sizes import LIST, enumerate_items, fetch_sizes

LIST_FIELDS = "name,opt_in_process,created,updated"
SUBSCRIBED_LIST, UNSUBSCRIBED_LIST = "Subscribed to List", "Unsubscribed from List"
CHANNEL_METRICS: dict[str, tuple[str, str]] = {
    "list": (SUBSCRIBED_LIST, UNSUBSCRIBED_LIST),
    "email": ("Subscribed to Email Marketing", "Unsubscribed from Email Marketing"),
    "sms": ("Subscribed to SMS Marketing", "Unsubscribed from SMS Marketing"),
}
# Totals only: month buckets keep the aggregate responses small (the datetime filter bounds the count).
SUM_INTERVAL = "month"

TOTAL_WARNING = (
    "total_profiles is the sum of per-list profile_count values; a profile in several lists is counted once "
    "per list, so this is not a deduplicated audience size."
)
EVENTS_WARNING = (
    "Counts are subscribe/unsubscribe events over the window, not deduplicated profiles, so they do not "
    "reconcile with changes in profile_count."
)
BY_NAME_WARNING = (
    "Per-list rows are keyed by Klaviyo's list name and joined to the list id, so lists sharing a name "
    "cannot be told apart."
)

# Event counts per dimension value (the list name, or None for events without one); None: unavailable.
Counts = dict[str | None, int] | None


def count_events(
    svc: KlaviyoService,
    account: Account,
    names: list[str],
    period: Period,
    ctx: CallContext,
    *,
    by_list: bool = False,
) -> tuple[dict[str, Counts], list[str]]:
    """Events of each named metric over ``period``; a missing or unreadable metric counts as None."""
    chunks = chunk(period)
    found = find_metrics(svc, account, names, ctx)
    warnings = []
    missing = [name for name in names if name not in found]
    if missing:
        warnings.append(
            f"The account has no metric named {', '.join(repr(n) for n in missing)}, so those counts and "
            "their net are null."
        )
    counts: dict[str, Counts] = {}
    for index, name in enumerate(names):
        ctx.progress(index, len(names), f"counting {name}")
        metric = found.get(name)
        if metric is None:
            counts[name] = None
            continue
        totals: dict[str | None, float] = {}
        try:
            for window in chunks:
                result = aggregate(
                    svc, account, metric.id, window, ctx,
                    measurements=["count"], interval=SUM_INTERVAL, by=["List"] if by_list else None,
                )  # fmt: skip
                for dims, value in result.totals("count").items():
                    key = (dims[0] or None) if by_list and dims else None
                    totals[key] = totals.get(key, 0.0) + value
        except (UpstreamAuthError, MissingScopeError):
            raise  # every other metric would fail the same way
        except KlaviyoMCPError as exc:
            counts[name] = None
            warnings.append(f"{name!r} could not be counted ({exc.code}: {exc.message}); its counts are null.")
            ctx.incomplete.append(f"{name} counts")
            continue
        counts[name] = {key: round(value) for key, value in totals.items()}
    ctx.progress(len(names), len(names), "counting done")
    return counts, warnings + chunk_warning(chunks)


def growth(subscribed: int | None, unsubscribed: int | None) -> GrowthCounts:
    net = subscribed - unsubscribed if subscribed is not None and unsubscribed is not None else None
    return GrowthCounts(subscribed=subscribed, unsubscribed=unsubscribed, net=net)


def _total(counts: Counts) -> int | None:
    return None if counts is None else sum(counts.values())


def _side(counts: Counts, name: str | None, known: bool) -> int | None:
    return counts.get(name, 0) if counts is not None and known else None


def _column(values: list[int | None], available: bool) -> int | None:
    return sum(v for v in values if v is not None) if available else None


def _no_progress(done: float, total: float | None, message: str | None) -> None:
    return None


def _window(svc: KlaviyoService, params: WindowParams) -> Period:
    period = resolve_period(params.start_date, params.end_date, params.timeframe, svc.today())
    assert period is not None  # required=True raises instead
    return period


def get_list_health(svc: KlaviyoService, params: ListHealthParams, ctx: CallContext) -> ToolResult[ListHealthResult]:
    account = svc.account(params.account)
    lists = enumerate_items(svc, account, LIST, LIST_FIELDS, ctx, only_id=params.list_id, id_field="list_id")
    sizes = fetch_sizes(svc, account, LIST, [item["id"] for item in lists], ctx)
    rows = [
        ListHealthRow(
            list_id=item["id"],
            name=item["attributes"].get("name"),
            opt_in_process=item["attributes"].get("opt_in_process"),
            profile_count=sizes.counts.get(item["id"]),
            created=item["attributes"].get("created"),
            updated=item["attributes"].get("updated"),
        )
        for item in lists
    ]
    total = sum(row.profile_count or 0 for row in rows)
    warnings = ([TOTAL_WARNING] if len(rows) > 1 else []) + sizes.warnings(LIST)
    return ToolResult(
        ListHealthResult(lists=rows, list_count=len(rows), total_profiles=total, pending=sizes.pending),
        account=account.slug,
        warnings=warnings,
        extra_metadata=sizes.metadata(),
    )


def get_list_growth(svc: KlaviyoService, params: ListGrowthParams, ctx: CallContext) -> ToolResult[ListGrowthResult]:
    account = svc.account(params.account)
    period = _window(svc, params)
    names = [name for pair in CHANNEL_METRICS.values() for name in pair]
    counts, warnings = count_events(svc, account, names, period, ctx)
    channels = {ch: growth(_total(counts[sub]), _total(counts[unsub])) for ch, (sub, unsub) in CHANNEL_METRICS.items()}
    return ToolResult(
        ListGrowthResult(growth=ChannelGrowth(**channels)),
        account=account.slug,
        period=period,
        warnings=[EVENTS_WARNING, *warnings],
    )


def _ids_by_name(lists: list[dict[str, Any]]) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for item in lists:
        ids.setdefault(str(item["attributes"].get("name")), []).append(item["id"])
    return ids


def get_list_growth_by_list(
    svc: KlaviyoService, params: ListGrowthByListParams, ctx: CallContext
) -> ToolResult[ListGrowthByListResult]:
    account = svc.account(params.account)
    period = _window(svc, params)
    ids = _ids_by_name(enumerate_items(svc, account, LIST, "name", ctx, id_field="list_id"))
    counts, warnings = count_events(svc, account, [SUBSCRIBED_LIST, UNSUBSCRIBED_LIST], period, ctx, by_list=True)
    subscribed, unsubscribed = counts[SUBSCRIBED_LIST], counts[UNSUBSCRIBED_LIST]
    names = set(subscribed or {}) | set(unsubscribed or {})
    rows = []
    for name in names:
        matches = ids.get(name, []) if name is not None else []
        counted = growth(
            None if subscribed is None else subscribed.get(name, 0),
            None if unsubscribed is None else unsubscribed.get(name, 0),
        )
        rows.append(ListGrowthRow(list_id=matches[0] if len(matches) == 1 else None, name=name, **counted.model_dump()))
    rows.sort(key=lambda r: (-(r.subscribed or 0), -(r.unsubscribed or 0), r.name or ""))
    ambiguous = sorted(n for n in names if n is not None and len(ids.get(n, [])) > 1)
    unmatched = sum(1 for n in names if n is None or n not in ids)
    if ambiguous:
        shown = ", ".join(repr(untrusted.clean(n)) for n in ambiguous)  # account text: KLAVIYO_MCP_USER_CONTENT applies
        warnings.append(f"Several lists are named {shown}; those rows have no list_id.")
    if unmatched:
        warnings.append(f"{unmatched} row(s) match no current list (deleted or renamed lists); list_id is null.")
    totals = growth(_total(subscribed), _total(unsubscribed))
    return ToolResult(
        ListGrowthByListResult(lists=rows, list_count=len(rows), totals=totals),
        account=account.slug,
        period=period,
        warnings=[f"{EVENTS_WARNING} {BY_NAME_WARNING}", *warnings],
    )


def get_list_breakdown(
    svc: KlaviyoService, params: ListBreakdownParams, ctx: CallContext
) -> ToolResult[ListBreakdownResult]:
    account = svc.account(params.account)
    period = _window(svc, params)
    lists = enumerate_items(svc, account, LIST, LIST_FIELDS, ctx, id_field="list_id")
    # Growth first: it is quick, while sizes may run out of time and leave some pending. Progress
    # reports only the sizes (one step per list): MCP progress must never go backwards.
    quiet = replace(ctx, progress=_no_progress)
    counts, warnings = count_events(svc, account, [SUBSCRIBED_LIST, UNSUBSCRIBED_LIST], period, quiet, by_list=True)
    sizes = fetch_sizes(svc, account, LIST, [item["id"] for item in lists], ctx)
    subscribed, unsubscribed = counts[SUBSCRIBED_LIST], counts[UNSUBSCRIBED_LIST]
    name_uses = Counter(str(item["attributes"].get("name")) for item in lists)
    rows = []
    for item in lists:
        name = item["attributes"].get("name")
        known = name is not None and name_uses[str(name)] == 1  # a shared name cannot be attributed
        counted = growth(_side(subscribed, name, known), _side(unsubscribed, name, known))
        rows.append(
            ListBreakdownRow(
                list_id=item["id"],
                name=name,
                opt_in_process=item["attributes"].get("opt_in_process"),
                profile_count=sizes.counts.get(item["id"]),
                **counted.model_dump(),
            )
        )
    shared = sorted(n for n, uses in name_uses.items() if uses > 1)
    if shared:
        shown = ", ".join(repr(untrusted.clean(n)) for n in shared)  # account text: KLAVIYO_MCP_USER_CONTENT applies
        warnings.append(f"Several lists are named {shown}; their growth is null.")
    orphans = sum(v for n, v in (subscribed or {}).items() if n is None or n not in name_uses)
    if orphans:
        warnings.append(f"{orphans} subscribe events belong to no current list (deleted or renamed); not in rows.")

    totals = BreakdownTotals(
        profile_count=sum(r.profile_count or 0 for r in rows),
        subscribed=_column([r.subscribed for r in rows], subscribed is not None),
        unsubscribed=_column([r.unsubscribed for r in rows], unsubscribed is not None),
        net=_column([r.net for r in rows], subscribed is not None and unsubscribed is not None),
    )
    return ToolResult(
        ListBreakdownResult(lists=rows, list_count=len(rows), totals=totals, pending=sizes.pending),
        account=account.slug,
        period=period,
        warnings=[f"{EVENTS_WARNING} {BY_NAME_WARNING}", TOTAL_WARNING, *warnings, *sizes.warnings(LIST)],
        extra_metadata=sizes.metadata(),
    )

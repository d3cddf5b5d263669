"""Trends: series over time, and one window compared with another.

Flow series come from Klaviyo's native flow-series report. Campaigns have no series report
(at 2 report calls a minute, one values report per bucket would take ~26 minutes for a
year of weeks), so a campaign trend is built from metric aggregates: one call per metric,
bucketed by Klaviyo and grouped by message — the call count does not grow with the number
of buckets. Aggregates count by event time, so a campaign trend will not match the
Klaviyo UI's campaign numbers exactly; the result says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from klaviyo_analytics.errors import FITS, InvalidArgumentError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.timeframes import Period, bucket_spans, chunk, resolve_period
from klaviyo_analytics.schemas.trends import (
    REPORT_STATISTICS,
    Bucket,
    OverTimeParams,
    OverTimeResult,
    SeriesRow,
)
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.entities import empty_reason, ensure_exists
from klaviyo_analytics.service.flows import FLOW_GROUP_BY
from klaviyo_analytics.service.freshness import report_ttl
from klaviyo_analytics.service.metrics import aggregate, conversion_metric_id, find_metrics
from klaviyo_analytics.service.reports import select_rows

DEFAULT_FLOW_STATISTICS = [
    "recipients", "delivered", "opens_unique", "open_rate", "clicks_unique", "click_rate", "conversions",
    "conversion_value",
]  # fmt: skip
# Klaviyo's longest window per series interval, in days.
INTERVAL_MAX_DAYS = {"hourly": 7, "daily": 60, "weekly": 366, "monthly": 364}
AGGREGATE_INTERVAL = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month"}
# Campaign trend statistic -> (metric name, measurement); conversions use the account's conversion metric.
CAMPAIGN_METRICS = {
    "recipients": [("Received Email", "count"), ("Received SMS", "count")],
    "opens_unique": [("Opened Email", "unique")],
    "clicks_unique": [("Clicked Email", "unique")],
}
CAMPAIGN_BY = ["$message", "Campaign Name", "$flow"]
CAMPAIGN_TREND_WARNING = (
    "Campaign trends are built from metric events bucketed by event time, so they will not match the Klaviyo "
    "UI's campaign report exactly; opens and clicks are email only."
)


def is_ratio(stat: str) -> bool:
    return stat.endswith("_rate") or stat in {"average_order_value", "revenue_per_recipient"}


def presentable(rows: list[SeriesRow]) -> list[SeriesRow]:
    """Series values by the product's one rounding rule, and open rates nulled where the channel has none."""
    out = []
    for row in rows:
        reason = stats.OPENLESS_CHANNELS.get(str(row.groupings.get("send_channel") or ""))
        nulled = {s: reason for s in row.statistics if reason and s in stats.OPEN_RATES}
        out.append(
            SeriesRow(
                groupings=row.groupings,
                statistics={
                    s: [None if s in nulled else stats.number(s, v) for v in values]
                    for s, values in row.statistics.items()
                },
                not_applicable=nulled,
            )
        )
    return out


def merge_series(parts: Iterable[tuple[list[str], list[SeriesRow]]]) -> tuple[list[str], list[SeriesRow]]:
    """Concatenate chunked series; a bucket split across two chunks (same start) is summed."""
    dates: list[str] = []
    index: dict[str, int] = {}
    rows: dict[tuple[tuple[str, str | None], ...], dict[str, dict[str, float | None]]] = {}
    for part_dates, part_rows in parts:
        for d in part_dates:
            if d not in index:
                index[d] = len(dates)
                dates.append(d)
        for row in part_rows:
            key = tuple(sorted(row.groupings.items()))
            target = rows.setdefault(key, {})
            for stat, values in row.statistics.items():
                cells = target.setdefault(stat, {})
                for d, v in zip(part_dates, values, strict=False):
                    old = cells.get(d)
                    if old is not None and v is not None and is_ratio(stat):
                        cells[d] = None  # a rate of a bucket split across chunks cannot be summed
                        continue
                    cells[d] = v if old is None else (old + v if v is not None else old)
    merged = [
        SeriesRow(groupings=dict(key), statistics={s: [cells.get(d) for d in dates] for s, cells in stats_.items()})
        for key, stats_ in rows.items()
    ]
    return dates, merged


def flow_series_attributes(metric_id: str, interval: str) -> dict[str, Any]:
    """The one flow-series request per (window, interval): every statistic the tool offers, every flow.

    A later question on the same window and interval — other statistics, one flow — is then a
    selection from the cached response: a statistic's values do not depend on which others were
    asked for, and a flow filter only keeps that flow's rows.
    """
    return {
        "statistics": list(REPORT_STATISTICS),
        "conversion_metric_id": metric_id,
        "interval": interval,
        "group_by": FLOW_GROUP_BY,
    }


def select_series(results: Iterable[dict[str, Any]], flow_id: str | None, statistics: list[str]) -> list[SeriesRow]:
    """The rows a direct request with ``statistics`` (and ``equals(flow_id,…)``) would return."""
    return [
        SeriesRow(
            groupings={k: (str(v) if v is not None else None) for k, v in (r.get("groupings") or {}).items()},
            statistics={k: [None if x is None else float(x) for x in values.get(k) or []] for k in statistics},
        )
        for r in select_rows(results, "flow_id", flow_id)
        for values in [r.get("statistics") or {}]
    ]


def flow_series(
    svc: KlaviyoService, account: Account, period: Period, params: OverTimeParams, ctx: CallContext
) -> tuple[list[str], list[SeriesRow]]:
    statistics = list(dict.fromkeys(params.statistics or DEFAULT_FLOW_STATISTICS))
    attributes = flow_series_attributes(conversion_metric_id(svc, account, ctx), params.interval)
    parts = []
    windows = chunk(period, INTERVAL_MAX_DAYS[params.interval])
    for i, window in enumerate(windows):
        ctx.progress(i, len(windows), f"flow series {window.start}..{window.end}")
        ttl = report_ttl(svc, account, window, ctx)
        report = svc.values_report(account, "flow-series", window, attributes, ctx, cache_ttl=ttl)
        parts.append((report.date_times, select_series(report.results, params.entity_id, statistics)))
    return merge_series(parts)


def campaign_series(
    svc: KlaviyoService, account: Account, period: Period, params: OverTimeParams, ctx: CallContext
) -> tuple[list[str], list[SeriesRow], list[str]]:
    if params.interval == "hourly" and period.days > 7:
        raise InvalidArgumentError("hourly campaign trends cover at most 7 days", field="interval", rule=FITS)
    names = [name for pairs in CAMPAIGN_METRICS.values() for name, _ in pairs]
    metrics = find_metrics(svc, account, names, ctx)
    warnings = [f"Metric {n!r} does not exist in this account; it counts as 0." for n in names if n not in metrics]
    interval = AGGREGATE_INTERVAL[params.interval]
    parts = []
    for window in chunk(period):
        cells: dict[str, dict[str, list[float]]] = {}  # message -> stat -> values
        labels: dict[str, str] = {}
        dates: list[str] = []
        for stat, pairs in CAMPAIGN_METRICS.items():
            for name, measurement in pairs:
                if name not in metrics:
                    continue
                agg = aggregate(svc, account, metrics[name].id, window, ctx, measurements=[measurement],
                                interval=interval, by=CAMPAIGN_BY)  # fmt: skip
                dates = agg.dates or dates
                for dims, values in agg.rows:
                    message, campaign_name, flow = [*dims, "", "", ""][:3]
                    if flow or not message:
                        continue  # flow sends are not campaigns
                    labels[message] = campaign_name
                    _add(cells.setdefault(message, {}), stat, values.get(measurement, []))
        conversions = aggregate(svc, account, conversion_metric_id(svc, account, ctx), window, ctx,
                                measurements=["count", "sum_value"], interval=interval,
                                by=["$attributed_message"])  # fmt: skip
        dates = conversions.dates or dates
        for dims, values in conversions.rows:
            message = dims[0] if dims else ""
            if message in labels:
                _add(cells[message], "conversions", values.get("count", []))
                _add(cells[message], "conversion_value", values.get("sum_value", []))
        rows = [
            SeriesRow(
                groupings={"campaign_message_id": message, "campaign_name": labels.get(message) or None},
                statistics={
                    stat: list(stat_cells.get(stat, [0.0] * len(dates)))
                    for stat in [*CAMPAIGN_METRICS, "conversions", "conversion_value"]
                },
            )
            for message, stat_cells in cells.items()
        ]
        parts.append((dates, rows))
    dates, rows = merge_series(parts)
    return dates, rows, warnings


def _add(target: dict[str, list[float]], stat: str, values: list[float]) -> None:
    current = target.get(stat)
    target[stat] = list(values) if current is None else [a + b for a, b in zip(current, values, strict=False)]


def get_performance_over_time(
    svc: KlaviyoService, params: OverTimeParams, ctx: CallContext
) -> ToolResult[OverTimeResult]:
    account = svc.account(params.account)
    period = resolve_period(params.start_date, params.end_date, params.timeframe, svc.today(account))
    assert period is not None
    warnings: list[str] = []
    if params.entity == "flow":
        dates, rows = flow_series(svc, account, period, params, ctx)
        if params.entity_id and not rows:
            ensure_exists(svc, account, "flow", params.entity_id, ctx, field="entity_id")
    else:
        if params.statistics:
            raise InvalidArgumentError(
                "statistics applies to entity=flow; campaign trends return recipients, opens_unique, clicks_unique, "
                "conversions and conversion_value",
                field="statistics",
                rule="applies_to",
            )
        if params.entity_id:
            raise InvalidArgumentError("entity_id applies to entity=flow", field="entity_id", rule="applies_to")
        dates, rows, warnings = campaign_series(svc, account, period, params, ctx)
        warnings.insert(0, CAMPAIGN_TREND_WARNING)
    if not rows:
        warnings.append(empty_reason(params.entity, period, params.entity_id))
    spans = bucket_spans(dates, params.interval, period)
    buckets = [
        Bucket(start_date=b.start.isoformat(), end_date=b.end.isoformat(), days=(b.end - b.start).days + 1,
               partial=b.partial)
        for b in spans
    ]  # fmt: skip
    if any(b.partial for b in buckets):
        cut = ", ".join(f"{b.start_date}..{b.end_date} ({b.days} days)" for b in buckets if b.partial)
        warnings.append(f"Partial {params.interval} buckets (the window cuts them): {cut}; compare them per day.")
    result = OverTimeResult(
        entity=params.entity, interval=params.interval, date_times=dates, buckets=buckets, series=presentable(rows)
    )
    return ToolResult(result, account=account.slug, period=period, warnings=warnings)

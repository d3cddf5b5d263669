"""Metrics: finding a metric by name, and querying metric aggregates.

Klaviyo's ``GET /api/metrics`` cannot filter by name, so the whole (small) metric list is
fetched once and cached for a day; names resolve client-side. Aggregates are bucketed in
the account's timezone, the same one the reporting API uses, so the two line up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from klaviyo_analytics.errors import FITS, ConfigError, InvalidArgumentError, NotFoundError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules import untrusted
from klaviyo_analytics.rules.timeframes import Period, chunk, resolve_period
from klaviyo_analytics.schemas.metrics import MetricQueryParams, MetricQueryResult, MetricRef, MetricRow
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.freshness import account_timezone, report_ttl

# Metric names change rarely; a day keeps lookups off the hot path.
METADATA_TTL_SECONDS = 86400.0
MEASUREMENTS = ("count", "sum_value", "unique")
INTERVALS = ("hour", "day", "week", "month")
# A daily series longer than this is more numbers than anyone reads; weekly or monthly answers better.
MAX_DAILY_DAYS = 366


@dataclass(frozen=True)
class Metric:
    id: str
    name: str
    integration: str | None


@dataclass(frozen=True)
class Aggregate:
    dates: list[str]
    # One row per combination of `by` dimensions: (dimensions, {measurement: [values per date]}).
    rows: list[tuple[list[str], dict[str, list[float]]]]

    def totals(self, measurement: str) -> dict[tuple[str, ...], float]:
        return {tuple(dims): float(sum(v or 0 for v in m.get(measurement, []))) for dims, m in self.rows}

    def total(self, measurement: str) -> float:
        return sum(self.totals(measurement).values())


def list_metrics(svc: KlaviyoService, account: Account, ctx: CallContext) -> list[Metric]:
    items = svc.client.get_all(account, "/api/metrics", deadline=ctx.deadline, cache_ttl=METADATA_TTL_SECONDS)
    metrics = []
    for item in items:
        attributes = item.get("attributes") or {}
        integration = attributes.get("integration") or {}
        metrics.append(Metric(str(item.get("id")), str(attributes.get("name") or ""), integration.get("name") or None))
    return metrics


def find_metrics(svc: KlaviyoService, account: Account, names: list[str], ctx: CallContext) -> dict[str, Metric]:
    """Metrics by exact name; a name the account does not have is simply absent from the result.

    When several integrations define the same name, Klaviyo's own (the API integration) wins.
    """
    wanted = set(names)
    found: dict[str, Metric] = {}
    for metric in list_metrics(svc, account, ctx):
        if metric.name in wanted:
            current = found.get(metric.name)
            if current is None or (metric.integration or "").lower() == "klaviyo":
                found[metric.name] = metric
    return found


def resolve_metric(svc: KlaviyoService, account: Account, name_or_id: str, ctx: CallContext) -> Metric:
    metrics = list_metrics(svc, account, ctx)
    for metric in metrics:
        if metric.id == name_or_id:
            return metric
    matches = [m for m in metrics if m.name.lower() == name_or_id.lower()]
    if matches:
        return matches[0]
    # Metric names are account text (any shop visitor can create one): kept out of the message, in
    # details, which the text rendering fences as data (untrusted.py).
    sample = [untrusted.clean(name) for name in sorted({m.name for m in metrics})[:15]]
    raise NotFoundError(
        f"no metric named or with id {name_or_id!r} in account {account.slug!r}; details.some_metrics "
        "lists names it has",
        field="metric",
        some_metrics=sample,
    )


def aggregate(
    svc: KlaviyoService,
    account: Account,
    metric_id: str,
    period: Period,
    ctx: CallContext,
    *,
    measurements: list[str],
    interval: str = "day",
    by: list[str] | None = None,
    filters: list[str] | None = None,
) -> Aggregate:
    """One ``POST /api/metric-aggregates`` over ``period`` (at most a year: callers chunk)."""
    if interval not in INTERVALS:
        raise InvalidArgumentError(f"interval must be one of {', '.join(INTERVALS)}", field="interval")
    start, end = period.datetime_bounds()
    attributes: dict[str, Any] = {
        "metric_id": metric_id,
        "measurements": measurements,
        "interval": interval,
        "filter": [
            f"greater-or-equal(datetime,{start.isoformat()})",
            f"less-than(datetime,{end.isoformat()})",
            *(filters or []),
        ],
        "timezone": account_timezone(svc, account, ctx),
    }
    if by:
        attributes["by"] = by
    body = {"data": {"type": "metric-aggregate", "attributes": attributes}}
    ttl = report_ttl(svc, account, period, ctx)
    document = svc.report_post(account, "/api/metric-aggregates", body, ctx, cache_ttl=ttl)
    data = (document.get("data") or {}).get("attributes") or {}
    rows = [
        (
            [str(d) for d in (row.get("dimensions") or [])],
            {k: [float(x or 0) for x in v] for k, v in (row.get("measurements") or {}).items()},
        )
        for row in data.get("data") or []
    ]
    return Aggregate([str(d) for d in data.get("dates") or []], rows)


def query_metric_aggregates(
    svc: KlaviyoService, params: MetricQueryParams, ctx: CallContext
) -> ToolResult[MetricQueryResult]:
    """A guarded generic query: bounded dimensions, rows and buckets, chunked past a year."""
    from klaviyo_analytics.service.trends import AGGREGATE_INTERVAL, INTERVAL_MAX_DAYS

    account = svc.account(params.account)
    period = resolve_period(params.start_date, params.end_date, params.timeframe, svc.today(account))
    assert period is not None
    if params.interval == "hourly" and period.days > INTERVAL_MAX_DAYS["hourly"]:
        raise InvalidArgumentError(
            "hourly buckets cover at most 7 days; use daily or a shorter window", field="interval", rule=FITS
        )
    if params.interval == "daily" and period.days > MAX_DAILY_DAYS:
        raise InvalidArgumentError(
            f"daily buckets cover at most {MAX_DAILY_DAYS} days; use weekly or monthly", field="interval", rule=FITS
        )
    metric = resolve_metric(svc, account, params.metric, ctx)
    measurements: list[str] = list(dict.fromkeys(params.measurements))
    dates: list[str] = []
    position: dict[str, int] = {}
    cells: dict[tuple[str, ...], dict[str, dict[int, float]]] = {}
    windows = chunk(period)
    for i, window in enumerate(windows):
        # The id, not the name: progress reaches the client outside any fence (untrusted.py).
        ctx.progress(i, len(windows), f"metric {metric.id} {window.start}..{window.end}")
        agg = aggregate(svc, account, metric.id, window, ctx, measurements=measurements,
                        interval=AGGREGATE_INTERVAL[params.interval], by=list(params.by))  # fmt: skip
        for d in agg.dates:
            if d not in position:  # a bucket split across two chunks keeps one slot
                position[d] = len(dates)
                dates.append(d)
        for dims, values in agg.rows:
            row = cells.setdefault(tuple(dims), {m: {} for m in measurements})
            for m in measurements:
                for d, value in zip(agg.dates, values.get(m) or [], strict=False):
                    row[m][position[d]] = row[m].get(position[d], 0.0) + value
    series = {
        dims: {m: [row[m].get(j, 0.0) for j in range(len(dates))] for m in measurements} for dims, row in cells.items()
    }
    ranked = sorted(series.items(), key=lambda item: -sum(item[1][measurements[0]]))
    rows = [
        MetricRow(
            dimensions=dict(zip(params.by, dims, strict=False)),
            totals={m: round(sum(v), 2) for m, v in values.items()},
            series={m: [round(x, 2) for x in v] for m, v in values.items()},
        )
        for dims, values in ranked[: params.limit]
    ]
    warnings = [
        "Metric aggregates count by event time; they will not match Klaviyo's campaign or flow reports exactly."
    ]
    if len(ranked) > params.limit:
        warnings.append(
            f"Showing the top {params.limit} of {len(ranked)} rows by {measurements[0]}; raise limit for more."
        )
    result = MetricQueryResult(
        metric=MetricRef(id=metric.id, name=metric.name), interval=params.interval, dates=dates, rows=rows,
        row_count=len(ranked), truncated=len(ranked) > params.limit,
    )  # fmt: skip
    return ToolResult(result, account=account.slug, period=period, warnings=warnings)


CONVERSION_METRIC_NAME = "Placed Order"


def conversion_metric_id(svc: KlaviyoService, account: Account, ctx: CallContext) -> str:
    """accounts.toml's ``conversion_metric_id``, or else the account's "Placed Order" metric.

    The metric list comes through the client's cache (shared and persistent), so the lookup costs a
    call once per cache lifetime, not once per question; every answer says to record the id.
    """
    if account.conversion_metric_id:
        return account.conversion_metric_id
    metric = find_metrics(svc, account, [CONVERSION_METRIC_NAME], ctx).get(CONVERSION_METRIC_NAME)
    source = account_source(svc)
    if metric is None:
        raise ConfigError(
            f"account {account.slug!r} has no conversion_metric_id in {source} and no {CONVERSION_METRIC_NAME!r} "
            "metric to use instead; run `install.py --check-api` or add the id of the metric conversions count",
            account=account.slug,
        )
    ctx.notes.append(
        f"conversion_metric_id is not set for {account.slug!r} in {source}: used its {CONVERSION_METRIC_NAME!r} "
        f'metric ({metric.id}); record it there (conversion_metric_id = "{metric.id}") or run install.py --check-api'
    )
    return metric.id


def account_source(svc: KlaviyoService) -> str:
    return str(svc.registry.source) if svc.registry.source else "accounts.toml"

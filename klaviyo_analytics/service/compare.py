"""klaviyo_compare_periods: one window's totals against the window a marketer means (comparisons.py).

Both windows are read through the canonical values report (reports.py), so a window a
performance question already read costs nothing here: after "campaigns last 30 days",
"compare with the 30 days before" spends one call, on the prior.
"""

from __future__ import annotations

from collections.abc import Iterable

from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.rules.bands import MPP_NOTE, BandsSource, row_health
from klaviyo_analytics.rules.comparisons import compare_window, comparison_warnings
from klaviyo_analytics.rules.timeframes import resolve_period
from klaviyo_analytics.schemas.common import PeriodOut
from klaviyo_analytics.schemas.compare import CompareParams, CompareResult, Delta
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.campaigns import campaign_counts
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.entities import empty_reason, ensure_exists
from klaviyo_analytics.service.flows import flow_counts
from klaviyo_analytics.service.reports import TIME_BASIS_WARNING, Summed


def totals(rows: Iterable[Summed]) -> tuple[dict[str, int | float | None], dict[str, str], dict[str, str]]:
    counts = stats.sum_counts(entry.counts for entry in rows)
    rates = stats.with_rates(counts)
    return rates, stats.not_applicable(counts), row_health(counts, rates)


def deltas(now: dict[str, int | float | None], before: dict[str, int | float | None]) -> dict[str, Delta]:
    out = {}
    for metric, value in now.items():
        old = before.get(metric)
        if value is None or old is None:
            out[metric] = Delta(absolute=None, pct_change=None)
            continue
        # A change is rounded like its statistic (a rate's change is in rate units, i.e. points).
        absolute = stats.number(metric, value - old)
        out[metric] = Delta(absolute=absolute, pct_change=stats.ratio(value - old, old) if old else None)
    return out


def compare_periods(svc: KlaviyoService, params: CompareParams, ctx: CallContext) -> ToolResult[CompareResult]:
    account = svc.account(params.account)
    today = svc.today(account)
    current = resolve_period(params.start_date, params.end_date, params.timeframe, today)
    assert current is not None
    prior = resolve_period(params.prior_start_date, params.prior_end_date, None, today, prefix="prior_",
                           required=False)  # fmt: skip
    if prior is not None:
        if params.compare_to is not None:
            raise InvalidArgumentError(
                "give either compare_to or prior_start_date+prior_end_date, not both", field="compare_to"
            )
        rule = "given_dates"
    else:
        comparison = compare_window(current, params.timeframe, params.compare_to or "previous_period")
        prior, rule = comparison.prior, comparison.rule
    warnings = [TIME_BASIS_WARNING, *comparison_warnings(current, prior, today)]
    counts = campaign_counts if params.entity == "campaign" else flow_counts
    current_rows, w1 = counts(svc, account, current, params.entity_id, ctx)
    prior_rows, w2 = counts(svc, account, prior, params.entity_id, ctx)
    warnings += [*w1, *w2]
    if params.entity_id and not current_rows and not prior_rows:
        ensure_exists(svc, account, params.entity, params.entity_id, ctx, field="entity_id")
    for rows, window in ((current_rows, current), (prior_rows, prior)):
        if not rows:
            warnings.append(empty_reason(params.entity, window, params.entity_id))

    def entities(rows: dict[tuple[str, ...], Summed]) -> int:
        return len({key[0] for key in rows})

    (now, not_applicable, now_health), (before, _, before_health) = (
        totals(current_rows.values()),
        totals(prior_rows.values()),
    )
    if "open_rate" in now_health or "open_rate" in before_health:
        warnings.append(MPP_NOTE)
    result = CompareResult(
        entity=params.entity,
        comparison=rule,
        current_period=PeriodOut(**current.to_dict()),
        prior_period=PeriodOut(**prior.to_dict()),
        current_totals=now,
        prior_totals=before,
        deltas=deltas(now, before),
        not_applicable=not_applicable,
        current_health=now_health,
        prior_health=before_health,
        health_bands=BandsSource(),
        current_entity_count=entities(current_rows),
        prior_entity_count=entities(prior_rows),
    )
    return ToolResult(result, account=account.slug, period=current, warnings=warnings)

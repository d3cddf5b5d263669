"""klaviyo_find_anomalies: what changed beyond a threshold between two windows, and what stopped.

The two windows follow the comparison rules (comparisons.py; default: the window before), and are
read through the canonical values reports, so after a comparison of the same windows this costs no
report call. Each finding carries the numbers that triggered it. A volume floor keeps small rows
out: a flow that went from 3 sends to 1 has not collapsed; and a change must be significant
(significance.py: a two-proportion z-test for rates, a conditional Poisson test for counts, at
``ALPHA``). Changes past the threshold that fail the floor or the test are counted in
``suppressed``, not listed; each listed change carries its volumes and p-value.

- ``stopped_sending``: the prior window delivered at least the floor, the current one nothing.
- ``stopped_converting``: the prior window converted (at least 3 unique conversions), the current one
  delivered at least the floor and converted nobody.
- ``change``: a tracked metric moved by at least ``threshold`` (relative) where both windows (or the
  busier one, for counts) reach the floor; also for the account's totals (``scope: account_total``,
  named "All flows" or "All campaigns").

Each finding carries its money impact (impact.py, in the account's currency), and the list is
ranked by it, largest loss or gain first. Per-item findings are for flows; a campaign sends once,
so for campaigns only the totals compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from klaviyo_analytics.rules import significance
from klaviyo_analytics.rules.comparisons import compare_window, comparison_warnings
from klaviyo_analytics.rules.timeframes import resolve_period
from klaviyo_analytics.schemas.anomalies import Anomaly, AnomalyParams, AnomalyResult
from klaviyo_analytics.schemas.common import PeriodOut
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.impact import BASIS, change_impact, stopped_impact
from klaviyo_analytics.service.insights import Entity, per_entity
from klaviyo_analytics.service.reports import TIME_BASIS_WARNING

# Counts compare as totals; rates only where both windows have the volume to mean something.
TRACKED_COUNTS = ("sent", "conversions", "conversion_value")
TRACKED_RATES = ("open_rate", "click_rate", "conversion_rate", "unsubscribe_rate", "bounce_rate")
MIN_PRIOR_CONVERSIONS = 3
# A change is reported when chance alone would produce it less than 1% of the time.
ALPHA = 0.01


@dataclass
class Found:
    """What a comparison found, and how many changes past the threshold it left out as noise."""

    anomalies: list[Anomaly] = field(default_factory=list)
    suppressed: int = 0


def _rate_volumes(metric: str, counts: dict[str, float]) -> tuple[float, float]:
    """A rate's (events, trials): opens count over the deliveries that can be opened."""
    numerator, denominator = stats.RATES[metric]
    trials = counts.get(denominator, 0.0)
    if metric == "open_rate":
        trials -= counts.get("openless_delivered", 0.0)
    return counts.get(numerator, 0.0), trials


def _p_value(metric: str, now: dict[str, float], before: dict[str, float], days: tuple[int, int]) -> float | None:
    if metric in TRACKED_RATES:
        (x1, n1), (x2, n2) = _rate_volumes(metric, now), _rate_volumes(metric, before)
        return significance.two_proportions(x1, n1, x2, n2)
    # Money follows the orders: conversion value is as significant as the conversions' change.
    basis = "conversions" if metric == "conversion_value" else metric
    return significance.poisson_counts(now.get(basis, 0.0), days[0], before.get(basis, 0.0), days[1])


def _volume(metric: str, counts: dict[str, float]) -> int:
    """The volume a change stands on: a rate's trials, a count's own number (orders, for money)."""
    if metric in TRACKED_RATES:
        return round(_rate_volumes(metric, counts)[1])
    return round(counts.get("conversions" if metric == "conversion_value" else metric, 0.0))


TOTAL_NAMES = {"flow": "All flows", "campaign": "All campaigns"}


def _changes(
    entity_id: str | None, name: str | None, now: dict[str, float], before: dict[str, float],
    params: AnomalyParams, days: tuple[int, int], out: Found,
) -> None:  # fmt: skip
    cur, pri = stats.with_rates(now), stats.with_rates(before)
    both = min(now.get("delivered", 0.0), before.get("delivered", 0.0)) >= max(params.min_delivered, 1)
    busier = max(now.get("delivered", 0.0), before.get("delivered", 0.0)) >= max(params.min_delivered, 1)
    for metric in (*TRACKED_COUNTS, *TRACKED_RATES):
        value, old = cur.get(metric), pri.get(metric)
        if not isinstance(value, int | float) or not isinstance(old, int | float) or not old:
            continue
        change = (value - old) / old
        if abs(change) < params.threshold:
            continue
        p_value = _p_value(metric, now, before, days)
        # Below the volume floor, too few events to test, or within noise: counted, not listed.
        if not (both if metric in TRACKED_RATES else busier) or p_value is None or p_value >= ALPHA:
            out.suppressed += 1
            continue
        out.anomalies.append(Anomaly(
            kind="change", scope="flow" if entity_id else "account_total", id=entity_id, name=name, metric=metric,
            current=value, prior=old, pct_change=round(change, stats.RATE_DIGITS), current_volume=_volume(metric, now),
            prior_volume=_volume(metric, before), test="two_proportion" if metric in TRACKED_RATES else "poisson",
            p_value=_rounded_p(p_value), impact=change_impact(metric, now, before, days), impact_basis=BASIS[metric],
        ))  # fmt: skip


def _rounded_p(p_value: float) -> float:
    return float(f"{p_value:.2g}")


def _stopped(
    item_now: Entity | None, item_before: Entity, params: AnomalyParams, days: tuple[int, int], out: Found
) -> bool:
    before = item_before.counts
    now = item_now.counts if item_now else dict.fromkeys(stats.TALLIES, 0.0)
    floor = max(params.min_delivered, 1)
    if before.get("delivered", 0.0) >= floor and not now.get("delivered", 0.0):
        # None at all after at least the floor: the count test, as for any change in volume.
        p_value = significance.poisson_counts(0.0, days[0], before["delivered"], days[1])
        if p_value is None or p_value >= ALPHA:  # a floor set near 0: too few sends to call it a stop
            out.suppressed += 1
            return True
        out.anomalies.append(Anomaly(
            kind="stopped_sending", id=item_before.id, name=item_before.name, metric="delivered", current=0,
            prior=round(before["delivered"]), pct_change=-1.0, current_volume=0,
            prior_volume=round(before["delivered"]), test="poisson", p_value=_rounded_p(p_value),
            impact=stopped_impact("stopped_sending", now, before, days), impact_basis=BASIS["stopped_sending"],
        ))  # fmt: skip
        return True
    converted = before.get("unique_conversions", 0.0)
    delivered = now.get("delivered", 0.0)
    if converted >= MIN_PRIOR_CONVERSIONS and delivered >= floor and not now.get("unique_conversions"):
        # Zero conversions is news only if the prior rate made some all but certain.
        p_value = significance.none_expected(converted / max(before.get("delivered", 0.0), 1.0), delivered)
        if p_value >= ALPHA:
            out.suppressed += 1
            return False
        out.anomalies.append(Anomaly(
            kind="stopped_converting", id=item_before.id, name=item_before.name, metric="unique_conversions",
            current=0, prior=round(converted), pct_change=-1.0, current_volume=round(delivered),
            prior_volume=round(before.get("delivered", 0.0)), test="zero_events", p_value=_rounded_p(p_value),
            impact=stopped_impact("stopped_converting", now, before, days), impact_basis=BASIS["stopped_converting"],
        ))  # fmt: skip
        return True
    return False


def detect(
    entity: str, now_items: dict[str, Entity], before_items: dict[str, Entity], params: AnomalyParams,
    days: tuple[int, int] = (7, 7),
) -> Found:  # fmt: skip
    """Every finding, ranked by its money impact (largest first, either way), then by p-value.

    ``days`` are the two windows' lengths, the exposure of count changes."""
    totals = Found()
    _changes(None, TOTAL_NAMES[entity], stats.sum_counts(i.counts for i in now_items.values()),
             stats.sum_counts(i.counts for i in before_items.values()), params, days, totals)  # fmt: skip
    stopped, changed = Found(), Found()
    # A campaign sends once: one that sent last week and not this week has not "stopped".
    per_item = sorted(set(now_items) | set(before_items)) if entity == "flow" else []
    for entity_id in per_item:
        item_now, item_before = now_items.get(entity_id), before_items.get(entity_id)
        if item_before and _stopped(item_now, item_before, params, days, stopped):
            continue
        if item_now and item_before:
            name = item_now.name or item_before.name
            _changes(entity_id, name, item_now.counts, item_before.counts, params, days, changed)
    found = [*stopped.anomalies, *totals.anomalies, *changed.anomalies]
    found.sort(key=lambda a: (-abs(a.impact or 0.0), a.p_value if a.p_value is not None else 1.0))
    return Found(found, stopped.suppressed + totals.suppressed + changed.suppressed)


def find_anomalies(svc: KlaviyoService, params: AnomalyParams, ctx: CallContext) -> ToolResult[AnomalyResult]:
    account = svc.account(params.account)
    today = svc.today(account)
    if params.timeframe is None and params.start_date is None and params.end_date is None:
        params = params.model_copy(update={"timeframe": "last_7_days"})  # week over week
    current = resolve_period(params.start_date, params.end_date, params.timeframe, today)
    assert current is not None
    comparison = compare_window(current, params.timeframe, params.compare_to or "previous_period")
    prior = comparison.prior
    now_items, w1 = per_entity(svc, account, params.entity, current, ctx)
    before_items, w2 = per_entity(svc, account, params.entity, prior, ctx)
    warnings = [TIME_BASIS_WARNING, *comparison_warnings(current, prior, today), *w1, *w2]

    if params.entity == "campaign":
        warnings.append("Campaigns send once, so only the account's campaign totals are compared between windows.")
    found = detect(params.entity, now_items, before_items, params, (current.days, prior.days))
    anomalies = found.anomalies
    if not anomalies:
        warnings.append(
            f"Nothing moved by {params.threshold:.0%} or more between {prior.start}..{prior.end} and "
            f"{current.start}..{current.end} among rows with at least {params.min_delivered} deliveries."
        )
    result = AnomalyResult(
        comparison=comparison.rule, current_period=PeriodOut(**current.to_dict()),
        prior_period=PeriodOut(**prior.to_dict()), anomalies=anomalies,
        checked=len(set(now_items) | set(before_items)), suppressed=found.suppressed,
    )  # fmt: skip
    return ToolResult(result, account=account.slug, period=current, warnings=warnings)

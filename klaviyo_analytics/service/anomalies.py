"""klaviyo_find_anomalies: what changed beyond a threshold between two windows, and what stopped.

The two windows follow the comparison rules (comparisons.py; default: the window before), and are
read through the canonical values reports, so after a comparison of the same windows this costs no
report call. Each finding carries the numbers that triggered it. A volume floor keeps small rows
out: a flow that went from 3 sends to 1 has not collapsed.

- ``stopped_sending``: the prior window delivered at least the floor, the current one nothing.
- ``stopped_converting``: the prior window converted (at least 3 unique conversions), the current one
  delivered at least the floor and converted nobody.
- ``change``: a tracked metric moved by at least ``threshold`` (relative) where both windows (or the
  busier one, for counts) reach the floor; also for the account's totals (``id: null``).

Per-item findings are for flows; a campaign sends once, so for campaigns only the totals compare.
"""

from __future__ import annotations

from klaviyo_analytics.rules.comparisons import compare_window, comparison_warnings
from klaviyo_analytics.rules.timeframes import resolve_period
from klaviyo_analytics.schemas.anomalies import Anomaly, AnomalyParams, AnomalyResult
from klaviyo_analytics.schemas.common import PeriodOut
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.insights import Entity, per_entity
from klaviyo_analytics.service.reports import TIME_BASIS_WARNING

# Counts compare as totals; rates only where both windows have the volume to mean something.
TRACKED_COUNTS = ("sent", "conversions", "conversion_value")
TRACKED_RATES = ("open_rate", "click_rate", "conversion_rate", "unsubscribe_rate", "bounce_rate")
MIN_PRIOR_CONVERSIONS = 3


def _changes(
    entity_id: str | None, name: str | None, now: dict[str, float], before: dict[str, float], params: AnomalyParams
) -> list[Anomaly]:
    found = []
    cur, pri = stats.with_rates(now), stats.with_rates(before)
    both = min(now.get("delivered", 0.0), before.get("delivered", 0.0)) >= max(params.min_delivered, 1)
    busier = max(now.get("delivered", 0.0), before.get("delivered", 0.0)) >= max(params.min_delivered, 1)
    for metric in (*TRACKED_COUNTS, *TRACKED_RATES):
        if not (both if metric in TRACKED_RATES else busier):
            continue
        value, old = cur.get(metric), pri.get(metric)
        if not isinstance(value, int | float) or not isinstance(old, int | float) or not old:
            continue
        change = (value - old) / old
        if abs(change) >= params.threshold:
            found.append(Anomaly(kind="change", id=entity_id, name=name, metric=metric, current=value, prior=old,
                                 pct_change=round(change, stats.RATE_DIGITS)))  # fmt: skip
    return found


def _stopped(item_now: Entity | None, item_before: Entity, params: AnomalyParams) -> Anomaly | None:
    before = item_before.counts
    now = item_now.counts if item_now else dict.fromkeys(stats.TALLIES, 0.0)
    floor = max(params.min_delivered, 1)
    if before.get("delivered", 0.0) >= floor and not now.get("delivered", 0.0):
        return Anomaly(kind="stopped_sending", id=item_before.id, name=item_before.name, metric="delivered",
                       current=0, prior=round(before["delivered"]), pct_change=-1.0)  # fmt: skip
    converted = before.get("unique_conversions", 0.0)
    if converted >= MIN_PRIOR_CONVERSIONS and now.get("delivered", 0.0) >= floor and not now.get("unique_conversions"):
        return Anomaly(kind="stopped_converting", id=item_before.id, name=item_before.name, metric="unique_conversions",
                       current=0, prior=round(converted), pct_change=-1.0)  # fmt: skip
    return None


def detect(
    entity: str, now_items: dict[str, Entity], before_items: dict[str, Entity], params: AnomalyParams
) -> list[Anomaly]:
    """Stops first, then the totals' changes, then each flow's changes, largest first."""
    totals = _changes(
        None, None, stats.sum_counts(i.counts for i in now_items.values()),
        stats.sum_counts(i.counts for i in before_items.values()), params,
    )  # fmt: skip
    stopped: list[Anomaly] = []
    changed: list[Anomaly] = []
    # A campaign sends once: one that sent last week and not this week has not "stopped".
    per_item = sorted(set(now_items) | set(before_items)) if entity == "flow" else []
    for entity_id in per_item:
        item_now, item_before = now_items.get(entity_id), before_items.get(entity_id)
        halt = _stopped(item_now, item_before, params) if item_before else None
        if halt:
            stopped.append(halt)
            continue
        if item_now and item_before:
            name = item_now.name or item_before.name
            changed += _changes(entity_id, name, item_now.counts, item_before.counts, params)
    changed.sort(key=lambda a: -abs(a.pct_change or 0.0))
    return [*stopped, *totals, *changed]


def find_anomalies(svc: KlaviyoService, params: AnomalyParams, ctx: CallContext) -> ToolResult[AnomalyResult]:
    account = svc.account(params.account)
    today = svc.today()
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
    anomalies = detect(params.entity, now_items, before_items, params)
    if not anomalies:
        warnings.append(
            f"Nothing moved by {params.threshold:.0%} or more between {prior.start}..{prior.end} and "
            f"{current.start}..{current.end} among rows with at least {params.min_delivered} deliveries."
        )
    result = AnomalyResult(
        comparison=comparison.rule, current_period=PeriodOut(**current.to_dict()),
        prior_period=PeriodOut(**prior.to_dict()), anomalies=anomalies,
        checked=len(set(now_items) | set(before_items)),
    )  # fmt: skip
    return ToolResult(result, account=account.slug, period=current, warnings=warnings)

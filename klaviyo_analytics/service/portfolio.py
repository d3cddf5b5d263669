"""klaviyo_get_portfolio: one summary per account the caller may see, within one tool deadline.

For each account (in name order): revenue and its split, email's share and the worst health band
(the current window's campaign and flow reports and one metric aggregate), then the prior window
for the top mover and the anomaly count (anomalies.py). Each account's calls go through the same
client, so its own pacing windows and daily report budget hold. An account, or a part of one, that
cannot finish before the deadline — or that fails — keeps its row (nulls where it stopped) and is
named in ``pending`` with the part and the error code, never dropped; the answer is then ``partial``.
"""

from __future__ import annotations

from typing import Any, cast

from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.bands import BAND_ORDER, MPP_NOTE, worst
from klaviyo_analytics.rules.comparisons import compare_window
from klaviyo_analytics.rules.timeframes import Period, preset_period
from klaviyo_analytics.schemas.anomalies import AnomalyParams
from klaviyo_analytics.schemas.common import PeriodOut
from klaviyo_analytics.schemas.portfolio import (
    AccountSummary,
    CurrencyTotal,
    PortfolioParams,
    PortfolioResult,
    WorstBand,
)
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.anomalies import detect
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.insights import Entity, per_entity, total_revenue
from klaviyo_analytics.service.metrics import conversion_metric_id
from klaviyo_analytics.service.money import account_currency, convert, format_money, totals_by_currency

# Start a part only with this much of the deadline left.
RESERVE_SECONDS = 1.0


def worst_band(entities: dict[str, dict[str, Entity]]) -> WorstBand | None:
    found: WorstBand | None = None
    for kind, items in entities.items():
        for item in items.values():
            health = cast(dict[str, str], stats.row_stats(item.counts)["health"])
            band = worst(health)
            if band is None or (found and BAND_ORDER.index(band) <= BAND_ORDER.index(found.band)):
                continue
            rate = next(r for r, b in health.items() if b == band)
            found = WorstBand(band=band, rate=rate, entity=kind, id=item.id, name=item.name)
    return found


def summarise(
    svc: KlaviyoService, account: Account, current: Period, prior: Period, ctx: CallContext
) -> tuple[AccountSummary, list[str]]:
    """The account's row, and what of it is pending (``'<part> (<why>)'``)."""
    fields: dict[str, Any] = dict.fromkeys(
        ("revenue", "campaign_revenue", "flow_revenue", "email_share", "worst_health", "top_mover", "anomaly_count")
    )
    fields["account"] = account.slug
    fields["currency"] = account_currency(svc, account, ctx)
    parts = ["revenue and health", "top mover and anomalies"]
    done = 0
    try:
        if not ctx.deadline.allows(RESERVE_SECONDS):
            raise ctx.deadline.exceeded(f"portfolio of {account.slug}")
        now = {kind: per_entity(svc, account, kind, current, ctx)[0] for kind in ("campaign", "flow")}
        total = total_revenue(svc, account, conversion_metric_id(svc, account, ctx), current, ctx)
        campaigns = sum(i.counts["conversion_value"] for i in now["campaign"].values())
        flows = sum(i.counts["conversion_value"] for i in now["flow"].values())
        email = sum(i.channels.get("email", 0.0) for items in now.values() for i in items.values())
        base = max(total, campaigns + flows)
        fields.update(revenue=round(total, 2), campaign_revenue=round(campaigns, 2), flow_revenue=round(flows, 2),
                      email_share=stats.ratio(email, base), worst_health=worst_band(now))  # fmt: skip
        done = 1
        if not ctx.deadline.allows(RESERVE_SECONDS):
            raise ctx.deadline.exceeded(f"portfolio of {account.slug}")
        before = per_entity(svc, account, "flow", prior, ctx)[0]
        found = detect("flow", now["flow"], before, AnomalyParams(), (current.days, prior.days)).anomalies
        fields.update(top_mover=found[0] if found else None, anomaly_count=len(found))
        done = 2
    except KlaviyoMCPError as exc:
        # Deadline and rate limits: ask again (the finished reports are cached); others: the code says why.
        return AccountSummary.model_validate(fields), [f"{part} ({exc.code})" for part in parts[done:]]
    return AccountSummary.model_validate(fields), []


def currency_totals(svc: KlaviyoService, rows: list[AccountSummary]) -> tuple[list[CurrencyTotal], list[str]]:
    """Revenue per currency; one converted total only with rates the user configured, saying so."""
    sums = totals_by_currency((row.currency, row.revenue) for row in rows)
    totals = [
        CurrencyTotal(currency=code, revenue=amount,
                      accounts=[r.account for r in rows if (r.currency or "unknown") == code and r.revenue is not None])
        for code, amount in sums.items()
    ]  # fmt: skip
    if len(sums) < 2:
        return totals, []
    configured = svc.settings.currency_rates
    target = configured[0][1] if configured else None
    rates = {source: rate for source, _, rate in configured}
    total = convert(sums, target, rates)
    if target is None or total is None:
        shown = ", ".join(format_money(amount, code) for code, amount in sums.items())
        return totals, [
            f"Revenue is in {len(sums)} currencies ({shown}): totals are per currency, never added together. "
            "Set KLAVIYO_MCP_CURRENCY_RATES (e.g. GBP:USD=1.27) for a converted total."
        ]  # fmt: skip
    used = {code: rates.get(code, 1.0) for code in sums if code != target}
    note = (f"Converted into {target} with the rates you configured in KLAVIYO_MCP_CURRENCY_RATES ("
            + ", ".join(f"1 {code} = {rate:g} {target}" for code, rate in used.items())
            + "), not market rates.")  # fmt: skip
    everyone = [r.account for r in rows if r.revenue is not None]
    return [*totals, CurrencyTotal(currency=target, revenue=total, accounts=everyone, converted_with=used)], [note]


def get_portfolio(svc: KlaviyoService, params: PortfolioParams, ctx: CallContext) -> ToolResult[PortfolioResult]:
    accounts = sorted(svc.registry.accounts.values(), key=lambda a: a.slug)
    # One window for every account, resolved on the earliest of their todays: at 00:20 UTC on
    # 1 January, "last_7_days" must not take in 31 December, still under way in New York.
    today = min((svc.today(a) for a in accounts), default=svc.today())
    current = preset_period(params.timeframe, today)
    comparison = compare_window(current, params.timeframe, "previous_period")
    rows, pending = [], []
    for index, account in enumerate(accounts):
        ctx.progress(index, len(accounts), f"account {account.slug}")
        row, missing = summarise(svc, account, current, comparison.prior, ctx)
        rows.append(row)
        pending += [f"{account.slug}: {part}" for part in missing]
    warnings = [MPP_NOTE] if any(r.worst_health and r.worst_health.rate == "open_rate" for r in rows) else []
    unfinished = list(dict.fromkeys(p.split(":", 1)[0] for p in pending))
    if unfinished:
        ctx.incomplete.extend(f"account {slug}" for slug in unfinished)
        warnings.append(
            f"Not every account finished: {', '.join(unfinished)} (see pending); ask again to continue — "
            "the finished reports are cached, so a second call starts where this one stopped."
        )
    totals, money_warnings = currency_totals(svc, rows)
    result = PortfolioResult(
        comparison=comparison.rule, current_period=PeriodOut(**current.to_dict()),
        prior_period=PeriodOut(**comparison.prior.to_dict()), accounts=rows, pending=pending, totals=totals,
    )  # fmt: skip
    warnings += money_warnings
    return ToolResult(result, period=current, warnings=warnings)

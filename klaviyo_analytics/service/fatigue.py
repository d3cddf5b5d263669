"""Send fatigue: weekly campaign email volume per profile against unsubscribe and spam rates.

Four weekly metric aggregates over the last N whole weeks (Monday to Sunday, in the account's
timezone): Received Email by ``$flow`` (the row without a flow is campaign email; its ``unique``
is the distinct profiles campaigns reached that week), and Bounced Email, Unsubscribed from Email
Marketing (unique) and Marked Email as Spam by ``$flow`` and ``$message`` (campaign rows: a
message, no flow — which leaves out unsubscribes from the preference page and flows). No
Reporting-API call.

Sends per profile = the week's campaign sends ÷ the audience, taken as the most distinct profiles
campaigns reached in any one week of the window (a floor on the mailable audience; one number for
every week, so the correlation is that of the weekly volume). Rates are over deliveries of the
same week, by event time (an unsubscribe on Monday from Sunday's campaign counts on Monday).
The relationship is a correlation over the weeks that sent (rules/correlation.py), in words that
claim no cause.
"""

from __future__ import annotations

from datetime import date, timedelta

from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.correlation import correlate
from klaviyo_analytics.rules.timeframes import Period
from klaviyo_analytics.schemas.engagement import CorrelationOut, FatigueWeek
from klaviyo_analytics.service.core import CallContext, KlaviyoService
from klaviyo_analytics.service.message_ref import metric_ids
from klaviyo_analytics.service.metrics import aggregate

RECEIVED, BOUNCED = "Received Email", "Bounced Email"
UNSUBSCRIBED, SPAM = "Unsubscribed from Email Marketing", "Marked Email as Spam"
RATE_WORDS = {"unsubscribe_rate": "unsubscribe rates", "spam_rate": "spam-complaint rates"}
AUDIENCE_BASIS = "the most distinct profiles campaigns reached in one week of the window (a floor on the audience)"
METHOD = (
    "Weekly metric aggregates (Monday-Sunday, account timezone) of campaign email: sends and distinct recipients "
    "(Received Email without $flow), bounces, unique unsubscribes and spam complaints (with a $message, without "
    "$flow), by event time. Rates are over the week's deliveries. Correlation over the weeks with campaign sends: "
    "Spearman's rank rho (the lead figure) and Pearson's r; p-value from Fisher's z approximation. Strength words: "
    "|rho| < 0.1 none, < 0.3 weak, < 0.5 moderate, else strong. A correlation does not show that sending causes "
    "unsubscribes: season, list growth and content move both."
)


def whole_weeks(today: date, weeks: int) -> Period:
    """The ``weeks`` whole Monday-Sunday weeks before the current one."""
    this_monday = today - timedelta(days=today.weekday())
    return Period(this_monday - timedelta(weeks=weeks), this_monday - timedelta(days=1))


def _weekly(
    svc: KlaviyoService,
    account: Account,
    metric_id: str | None,
    period: Period,
    ctx: CallContext,
    measurements: list[str],
    by: list[str],
) -> dict[str, dict[str, float]]:
    """Campaign email's weekly ``measurements``: measurement -> week start (YYYY-MM-DD) -> value."""
    out: dict[str, dict[str, float]] = {m: {} for m in measurements}
    if metric_id is None:
        return out  # the account never had the metric
    result = aggregate(svc, account, metric_id, period, ctx, measurements=measurements, interval="week", by=by)
    for dims, values in result.rows:
        flow, message = ([*dims, "", ""])[:2]
        if flow or (len(by) > 1 and not message):
            continue  # a flow's, or not from a message
        for name in measurements:
            for day, value in zip(result.dates, values.get(name) or [], strict=False):
                out[name][day[:10]] = out[name].get(day[:10], 0.0) + value
    return out


def weekly_rows(
    svc: KlaviyoService, account: Account, period: Period, ctx: CallContext
) -> tuple[list[FatigueWeek], int]:
    ids = metric_ids(svc, account, [RECEIVED, BOUNCED, UNSUBSCRIBED, SPAM], ctx)
    flow, message = ["$flow"], ["$flow", "$message"]
    received = _weekly(svc, account, ids.get(RECEIVED), period, ctx, ["count", "unique"], flow)
    sends, reached = received["count"], received["unique"]
    bounced = _weekly(svc, account, ids.get(BOUNCED), period, ctx, ["count"], message)["count"]
    unsubscribed = _weekly(svc, account, ids.get(UNSUBSCRIBED), period, ctx, ["unique"], message)["unique"]
    spam = _weekly(svc, account, ids.get(SPAM), period, ctx, ["count"], message)["count"]
    audience = int(max(reached.values(), default=0.0))
    rows = []
    day = period.start
    while day <= period.end:
        key = day.isoformat()
        sent = sends.get(key, 0.0)
        delivered = max(0.0, sent - bounced.get(key, 0.0))
        unsubs, complaints = unsubscribed.get(key, 0.0), spam.get(key, 0.0)
        rows.append(
            FatigueWeek(
                week_start=key, campaign_sends=int(sent), unique_recipients=int(reached.get(key, 0.0)),
                sends_per_profile=round(sent / audience, 4) if audience else 0.0, delivered=int(delivered),
                unsubscribes=int(unsubs), unsubscribe_rate=round(unsubs / delivered, 6) if delivered else None,
                spam_complaints=int(complaints), spam_rate=round(complaints / delivered, 6) if delivered else None,
            )
        )  # fmt: skip
        day += timedelta(weeks=1)
    return rows, audience


def relationship(rows: list[FatigueWeek], rate: str) -> CorrelationOut:
    points = [
        (w.sends_per_profile, getattr(w, rate)) for w in rows if w.campaign_sends > 0 and getattr(w, rate) is not None
    ]
    found = correlate([x for x, _ in points], [y for _, y in points])
    words = RATE_WORDS[rate]
    figures = (
        f"Spearman rho = {found.spearman:.2f}, Pearson r = {found.pearson:.2f}, n = {found.n} weeks"
        if found.spearman is not None and found.pearson is not None
        else f"n = {found.n} weeks"
    )
    p = f", p ≈ {found.p_value:.2f}" if found.p_value is not None else ""
    chance = " — could well be chance" if found.p_value is not None and found.p_value >= 0.05 else ""
    if found.strength == "too few weeks":
        statement = f"Too few weeks with campaign sends ({found.n}) to say how {words} move with sends per profile."
    elif found.strength == "no":
        statement = f"{words.capitalize()} did not move with sends per profile ({figures}{p})."
    else:
        more = "higher" if found.direction == "positive" else "lower"
        statement = (
            f"Weeks with more sends per profile had {more} {words}: {found.strength} {found.direction} correlation "
            f"({figures}{p}){chance}."
        )
    return CorrelationOut(
        rate=rate, n=found.n, pearson_r=None if found.pearson is None else round(found.pearson, 4),
        spearman_rho=None if found.spearman is None else round(found.spearman, 4),
        p_value=None if found.p_value is None else round(found.p_value, 4), strength=found.strength,
        direction=found.direction, statement=statement,
    )  # fmt: skip

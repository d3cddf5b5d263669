"""A/B readout of one message: per-variation counts from metric aggregates and a test per rate.

Counts come from metric aggregates filtered to the message and grouped by ``$variation``
(deliveries, opens, clicks) or, for conversions and revenue, by ``$attributed_variation`` on the
conversion metric: at most five aggregate calls and no Reporting-API call (aggregates have
their own rate limit and no daily quota). The deliveries call goes first; a message whose
events carry no variation stops there, with "this message has no A/B test".

Each rate is unique events over deliveries and is tested with the pooled two-proportion z-test
(rules/significance.py), the leader against every other variation; with more than two
variations the 5% level is divided among those comparisons (Bonferroni). A winner is named
only when the winning metric's test is significant. The sample needed is the deliveries each
variation would need for a 5% two-sided test with 80% power to detect a 10% relative lift over the
runner-up's rate. Revenue per recipient is shown but not tested: aggregates give revenue sums,
not the spread of order values a test of means needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.significance import ALPHA, POWER, sample_per_group, two_proportions
from klaviyo_analytics.rules.timeframes import Period
from klaviyo_analytics.schemas.engagement import AbVariation, RateTest
from klaviyo_analytics.service.core import CallContext, KlaviyoService
from klaviyo_analytics.service.message_ref import Message, metric_ids, totals
from klaviyo_analytics.service.metrics import conversion_metric_id

# The lift the sample-size estimate is for: smaller lifts rarely repay the sends a test needs.
MIN_LIFT = 0.10
NO_TEST = "This message has no A/B test: none of its deliveries in the window carry a variation."
RATE_WORDS = {"open_rate": "open rate", "click_rate": "click rate", "conversion_rate": "conversion rate"}
# Per channel: (received, failed or bounced, opened, clicked).
CHANNEL_METRICS = {
    "email": ("Received Email", "Bounced Email", "Opened Email", "Clicked Email"),
    "sms": ("Received SMS", "Failed to Deliver SMS", None, "Clicked SMS"),
}
METHOD = (
    "Counts: metric aggregates of the message by $variation (conversions and revenue: the conversion metric by "
    "$attributed_variation), by event time over the window; each rate is unique events over deliveries (recipients "
    "minus bounces). Test: two-sided pooled two-proportion z-test per rate, the leader against each other variation, "
    f"at {ALPHA:.0%} (divided among the comparisons when more than two variations). Sample needed: deliveries per "
    f"variation for a {ALPHA:.0%} two-sided test with {POWER:.0%} power to detect a {MIN_LIFT:.0%} relative lift over "
    "the runner-up's rate. Revenue per recipient is not tested (aggregates give sums, not the spread of order values)."
)


@dataclass(frozen=True)
class Readout:
    variations: list[AbVariation]
    tests: list[RateTest]
    unassigned: float  # deliveries in the window that carry no variation


def _rate(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 6) if denominator > 0 else None


def readout(
    svc: KlaviyoService, account: Account, message: Message, period: Period, ctx: CallContext
) -> Readout | None:
    """The variations' counts and tests, or None when the message has no variation in the window."""
    mid, channel = message.ref.message_id, message.ref.channel
    received, failed, opened, clicked = CHANNEL_METRICS.get(channel, CHANNEL_METRICS["email"])
    ids = metric_ids(svc, account, [n for n in (received, failed, opened, clicked) if n], ctx)
    own = {"by": ["$variation"], "filters": [f'equals($message,"{mid}")']}
    sent = totals(svc, account, ids.get(received), period, ctx, measurements=["count"], **own)
    names = sorted(key[0] for key in sent if key[0])
    if not names:
        return None
    bounced = totals(svc, account, ids.get(failed), period, ctx, measurements=["count"], **own)
    opens = totals(svc, account, ids.get(opened), period, ctx, measurements=["unique"], **own) if opened else {}
    clicks = totals(svc, account, ids.get(clicked), period, ctx, measurements=["unique"], **own)
    orders = totals(
        svc, account, conversion_metric_id(svc, account, ctx), period, ctx, measurements=["unique", "sum_value"],
        by=["$attributed_variation"], filters=[f'equals($attributed_message,"{mid}")'],
    )  # fmt: skip

    def get(table: dict[tuple[str, ...], dict[str, float]], name: str, measure: str) -> float:
        return (table.get((name,)) or {}).get(measure, 0.0)

    rows = []
    for name in names:
        recipients = get(sent, name, "count")
        delivered = max(0.0, recipients - get(bounced, name, "count"))
        o, c = get(opens, name, "unique"), get(clicks, name, "unique")
        conv, revenue = get(orders, name, "unique"), get(orders, name, "sum_value")
        rows.append(
            AbVariation(
                variation=name, recipients=int(recipients), delivered=int(delivered), opens=int(o), clicks=int(c),
                conversions=int(conv), revenue=round(revenue, 2), open_rate=_rate(o, delivered) if opened else None,
                click_rate=_rate(c, delivered), conversion_rate=_rate(conv, delivered),
                revenue_per_recipient=_rate(revenue, delivered),
            )
        )  # fmt: skip
    metrics = ["open_rate", "click_rate", "conversion_rate"] if opened else ["click_rate", "conversion_rate"]
    tests = [rate_test(rows, metric) for metric in metrics]
    return Readout(rows, tests, get(sent, "", "count"))


def rate_test(rows: list[AbVariation], metric: str) -> RateTest:
    """The leader on ``metric`` against every other variation (see the module docstring)."""
    successes = {"open_rate": "opens", "click_rate": "clicks", "conversion_rate": "conversions"}[metric]
    ranked = sorted(rows, key=lambda r: (-(getattr(r, metric) or 0.0), r.variation))
    leader, others = ranked[0], ranked[1:]
    p_values = [
        two_proportions(getattr(leader, successes), leader.delivered, getattr(o, successes), o.delivered)
        for o in others
    ]
    comparisons = max(1, len(others))
    significant = bool(others) and all(p is not None and p < ALPHA / comparisons for p in p_values)
    lead_rate = getattr(leader, metric)
    runner_rate = getattr(others[0], metric) if others else None
    lift = (lead_rate / runner_rate - 1.0) if lead_rate is not None and runner_rate else None
    needed = None
    if runner_rate:
        needed = sample_per_group(runner_rate, min(0.999999, runner_rate * (1.0 + MIN_LIFT)), ALPHA / comparisons)
    return RateTest(
        metric=metric, leader=leader.variation if lead_rate else None, leader_rate=lead_rate,
        runner_up_rate=runner_rate, relative_lift=round(lift, 4) if lift is not None else None,
        p_value=round(p_values[0], 6) if p_values and p_values[0] is not None else None, significant=significant,
        sample_needed_per_variation=needed,
    )  # fmt: skip


def _p_text(p_value: float | None) -> str:
    if p_value is None:
        return "too few events to test"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3g}"


def verdict(result: Readout, metric: str) -> tuple[str | None, str]:
    """(the winner or None, one sentence saying so and why)."""
    test = next(t for t in result.tests if t.metric == metric)
    words = RATE_WORDS[metric]
    if test.leader_rate is None or test.runner_up_rate is None:
        return None, f"No winner yet on {words}: no variation has a {words} to compare in the window."
    shown = f"{test.leader} {test.leader_rate:.2%} against {test.runner_up_rate:.2%}"
    p = _p_text(test.p_value)
    if test.significant:
        lift = f", {test.relative_lift:+.0%}" if test.relative_lift is not None else ""
        return test.leader, f"{test.leader} wins on {words}: {shown}{lift} ({p}, two-proportion z-test)."
    fewest = min(v.delivered for v in result.variations)
    need = test.sample_needed_per_variation
    sample = (
        f"; to detect a {MIN_LIFT:.0%} lift each variation needs about {need:,} deliveries (the smallest has "
        f"{fewest:,})"
        if need
        else ""
    )
    return None, f"No winner yet on {words}: {shown} is not significant ({p}){sample}."

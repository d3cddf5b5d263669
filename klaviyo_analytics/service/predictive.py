"""klaviyo_get_predictive_analytics: how Klaviyo's predictions spread across a list, a segment or
the whole account.

Reads the audience's profiles with ``additional-fields[profile]=predictive_analytics``, 100 a page,
paced by the client like every read and bounded by the call's deadline. A large audience is
sampled: at most ``max_profiles`` are read (the first ones in Klaviyo's order, which is not random —
the answer says so and states the sample size), and paging stops early, with the sample marked,
when the deadline runs short. Profiles without predictions (too little history) are counted apart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date
from statistics import fmean, quantiles
from typing import Any

from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.schemas.predictive import Distribution, PredictiveParams, PredictiveResult
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult

PAGE = 100
# Stop paging with this much of the deadline left: the answer from a sample beats a timeout.
RESERVE_SECONDS = 5.0
CHURN_RISK = (("low", 0.3), ("medium", 0.7), ("high", 1.01))  # upper bounds, exclusive


def distribution(values: Sequence[float], digits: int) -> Distribution:
    if not values:
        return Distribution(count=0, mean=None, p10=None, p25=None, median=None, p75=None, p90=None)
    if len(values) == 1:
        v = round(values[0], digits)
        return Distribution(count=1, mean=v, p10=v, p25=v, median=v, p75=v, p90=v)
    deciles = quantiles(values, n=20, method="inclusive")  # 5% steps: p10 = [1], p25 = [4], ...
    pick = {name: round(deciles[i], digits) for name, i in (("p10", 1), ("p25", 4), ("median", 9), ("p75", 14),
                                                             ("p90", 17))}  # fmt: skip
    return Distribution(count=len(values), mean=round(fmean(values), digits), **pick)


def get_predictive_analytics(
    svc: KlaviyoService, params: PredictiveParams, ctx: CallContext
) -> ToolResult[PredictiveResult]:
    if params.list_id is not None and params.segment_id is not None:
        raise InvalidArgumentError(
            "give list_id or segment_id, not both (neither: the whole account)", field="list_id", rule="one_target"
        )
    account = svc.account(params.account)
    if params.list_id or params.segment_id:
        kind, ident = ("list", params.list_id) if params.list_id else ("segment", params.segment_id)
        path = f"/api/{kind}s/{ident}/profiles"
    else:
        kind, ident, path = "account", account.slug, "/api/profiles"
    query = {"additional-fields[profile]": "predictive_analytics", "fields[profile]": "predictive_analytics",
             "page[size]": str(min(PAGE, params.max_profiles))}  # fmt: skip
    profiles: list[dict[str, Any]] = []
    more = False
    pages = svc.client.paginate(account, path, query, deadline=ctx.deadline,
                                max_pages=params.max_profiles // min(PAGE, params.max_profiles) + 2)  # fmt: skip
    for index, page in enumerate(pages):
        profiles.extend(page.get("data") or [])
        ctx.progress(len(profiles), None, f"{kind} {ident}: {len(profiles)} profiles")
        more = bool((page.get("links") or {}).get("next"))
        if not more:
            break
        if len(profiles) >= params.max_profiles or not ctx.deadline.allows(RESERVE_SECONDS):
            if not ctx.deadline.allows(RESERVE_SECONDS):
                ctx.incomplete.append(f"profiles of {kind} {ident} after page {index + 1}")
            break
    profiles = profiles[: params.max_profiles]

    today = svc.today()
    clv, churn, days = [], [], []
    with_predictions = 0
    for profile in profiles:
        pa = ((profile.get("attributes") or {}).get("predictive_analytics")) or {}
        if not any(v is not None for v in pa.values()):
            continue
        with_predictions += 1
        if isinstance(pa.get("predicted_clv"), int | float):
            clv.append(float(pa["predicted_clv"]))
        if isinstance(pa.get("churn_probability"), int | float):
            churn.append(float(pa["churn_probability"]))
        expected = pa.get("expected_date_of_next_order")
        if isinstance(expected, str):
            with contextlib.suppress(ValueError):
                days.append(float((date.fromisoformat(expected[:10]) - today).days))
    risk = {name: 0 for name, _ in CHURN_RISK}
    for p in churn:
        risk[next(name for name, upper in CHURN_RISK if p < upper)] += 1
    warnings = []
    if more:
        warnings.append(
            f"Sampled: the first {len(profiles)} profiles of the {kind} in Klaviyo's order (not a random sample); "
            "raise max_profiles to read more."
        )
    if not profiles:
        warnings.append(f"The {kind} {ident} has no profiles, so there is nothing to describe.")
    elif not with_predictions:
        warnings.append("No profile has predictions yet: Klaviyo predicts once an account has enough order history.")
    result = PredictiveResult(
        audience={"kind": kind, "id": str(ident)}, profiles_read=len(profiles), sampled=more,
        with_predictions=with_predictions, predicted_clv=distribution(clv, 2), churn_probability=distribution(churn, 4),
        churn_risk=risk, days_to_next_order=distribution(days, 1), overdue=sum(d < 0 for d in days),
    )  # fmt: skip
    return ToolResult(result, account=account.slug, warnings=warnings)

"""Collecting a week's digest from the tools' own handlers, one section at a time.

Each section is one question the product already answers (compare, anomalies, revenue split,
rankings), so the digest spends no call a chat would not, reuses the same cached reports, and
shows the same numbers. A section that cannot finish within the deadline (or fails) is kept, with
the reason, and the answer is partial: a digest never silently loses a section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.schemas.anomalies import AnomalyParams
from klaviyo_analytics.schemas.compare import CompareParams
from klaviyo_analytics.schemas.insights import RankParams, RevenueSplitParams
from klaviyo_analytics.service.anomalies import find_anomalies
from klaviyo_analytics.service.compare import compare_periods
from klaviyo_analytics.service.core import CallContext, KlaviyoService
from klaviyo_analytics.service.insights import rank_entities, revenue_split
from klaviyo_analytics.service.money import account_currency

WEEK = "last_7_days"


@dataclass
class Digest:
    account: str
    label: str | None
    currency: str | None = None  # every money figure's (the account's preferred currency)
    sections: dict[str, Any] = field(default_factory=dict)  # name -> the section's data (a dict)
    missing: dict[str, str] = field(default_factory=dict)  # name -> why it is not there
    warnings: list[str] = field(default_factory=list)


def build_digest(svc: KlaviyoService, account: str | None, ctx: CallContext) -> Digest:
    acct = svc.account(account)
    digest = Digest(acct.slug, acct.label, account_currency(svc, acct, ctx))
    slug = acct.slug
    steps: dict[str, Callable[[], Any]] = {
        "campaigns": lambda: compare_periods(svc, CompareParams(account=slug, entity="campaign", timeframe=WEEK), ctx),
        "flows": lambda: compare_periods(svc, CompareParams(account=slug, entity="flow", timeframe=WEEK), ctx),
        "anomalies": lambda: find_anomalies(svc, AnomalyParams(account=slug, timeframe=WEEK), ctx),
        "revenue": lambda: revenue_split(svc, RevenueSplitParams(account=slug, timeframe=WEEK), ctx),
        "top_campaigns": lambda: rank_entities(
            svc, RankParams(account=slug, entity="campaign", timeframe=WEEK, limit=3), ctx
        ),
        "top_flows": lambda: rank_entities(svc, RankParams(account=slug, entity="flow", timeframe=WEEK, limit=3), ctx),
    }
    for index, (name, step) in enumerate(steps.items()):
        ctx.progress(index, len(steps), f"digest {slug}: {name}")
        try:
            result = step()
        except KlaviyoMCPError as exc:
            digest.missing[name] = exc.code
            ctx.incomplete.append(f"digest {slug}: {name}")
            continue
        digest.sections[name] = result.data.model_dump(mode="json")
        digest.warnings += [w for w in result.warnings if w not in digest.warnings]
    return digest

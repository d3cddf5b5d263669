"""Campaign and flow values reports: one canonical request per window, summed and selected here.

Every question about campaigns (or flows) over one window — all of them, one of them, a
rollup, a ranking, a comparison — reads the *same* report: the full statistic set the product
derives its numbers from and the full grouping, with no filter. The request body, and so the
client's cache key, depends only on (endpoint, window, account), so the first question pays
the report call and the others are answered from its cached response. A single-entity
question selects its rows here, which is exactly what Klaviyo's ``equals(<entity>_id,…)``
filter would return: a filter on a grouping field keeps or drops whole rows and changes none.
Klaviyo's spec sets no limit on statistics per request and does not say how a report pages;
should an account's report page, the account-wide request costs a call per page (once, for
every question on the window) where a filtered one might have cost fewer.

Rows are summed by a key made of grouping fields, over messages and over yearly chunks, and
the names that ride along in the same rows (``group_by``) are remembered, so names never cost
a call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.timeframes import Period, chunk
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.core import CallContext, KlaviyoService, Report
from klaviyo_analytics.service.freshness import report_ttl
from klaviyo_analytics.service.metrics import conversion_metric_id

TIME_BASIS_WARNING = (
    "Engagement and conversion statistics are attributed by event time, while 'sent' is anchored to the "
    "send date; counts in a short window may not align."
)
# The grouping every values report of an entity asks for: the ids Klaviyo requires, the channel,
# and the names the tools show (so no lookup per row).
GROUP_BY: dict[str, list[str]] = {
    "campaign": ["campaign_id", "campaign_message_id", "send_channel", "campaign_message_name"],
    "flow": ["flow_id", "flow_message_id", "send_channel", "flow_name", "flow_message_name"],
}


@dataclass
class Summed:
    counts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(stats.TALLIES, 0.0))
    # Each non-key grouping field -> its distinct values, in the order first seen.
    labels: dict[str, list[str]] = field(default_factory=dict)

    def label(self, name: str) -> str | None:
        values = self.labels.get(name)
        return values[0] if values else None


def chunk_warning(chunks: list[Period]) -> list[str]:
    if len(chunks) < 2:
        return []
    return [f"The window is longer than one year, so it was fetched as {len(chunks)} chunks and summed."]


def canonical_attributes(entity: str, metric_id: str) -> dict[str, Any]:
    """The one values-report request of ``entity`` (campaign or flow) the product makes, minus the window."""
    return {
        "statistics": stats.REPORT_STATISTICS,
        "conversion_metric_id": metric_id,
        "group_by": GROUP_BY[entity],
    }


def canonical_values_report(
    svc: KlaviyoService, account: Account, entity: str, window: Period, ctx: CallContext
) -> Report:
    """The account-wide ``{entity}-values`` report of one (≤ 1 year) window, cached by the freshness policy."""
    attributes = canonical_attributes(entity, conversion_metric_id(svc, account, ctx))
    ttl = report_ttl(svc, account, window, ctx)
    return svc.values_report(account, f"{entity}-values", window, attributes, ctx, cache_ttl=ttl)


def select_rows(results: Iterable[dict[str, Any]], field_name: str, value: str | None) -> list[dict[str, Any]]:
    """The rows Klaviyo's ``equals(field_name,"value")`` filter would keep; all rows when value is None."""
    if value is None:
        return list(results)
    return [row for row in results if str((row.get("groupings") or {}).get(field_name) or "") == value]


def sum_rows(
    rows: dict[tuple[str, ...], Summed], results: Iterable[dict[str, Any]], key_fields: list[str]
) -> dict[tuple[str, ...], Summed]:
    """Add report result rows into ``rows``, keyed by ``key_fields`` (rows without the first are skipped)."""
    for result in results:
        groupings = result.get("groupings") or {}
        key = tuple(str(groupings.get(name) or "") for name in key_fields)
        if not key[0]:
            continue
        entry = rows.setdefault(key, Summed())
        channel = str(groupings.get("send_channel") or "") or None
        stats.add_counts(entry.counts, stats.counts_from_statistics(result.get("statistics") or {}, channel))
        for name, value in groupings.items():
            if name not in key_fields and value and str(value) not in entry.labels.setdefault(name, []):
                entry.labels[name].append(str(value))
    return rows


def summed_values_report(
    svc: KlaviyoService,
    account: Account,
    entity: str,
    period: Period,
    ctx: CallContext,
    *,
    key_fields: list[str],
    only_id: str | None = None,
) -> tuple[dict[tuple[str, ...], Summed], list[str]]:
    """Rows of the canonical ``{entity}-values`` report (only ``only_id``'s, if given) summed by ``key_fields``."""
    chunks = chunk(period)
    rows: dict[tuple[str, ...], Summed] = {}
    for index, window in enumerate(chunks):
        ctx.progress(index, len(chunks), f"{entity} report {window.start}..{window.end}")
        report = canonical_values_report(svc, account, entity, window, ctx)
        sum_rows(rows, select_rows(report.results, f"{entity}_id", only_id), key_fields)
    ctx.progress(len(chunks), len(chunks), f"{entity} report done")
    return rows, chunk_warning(chunks)

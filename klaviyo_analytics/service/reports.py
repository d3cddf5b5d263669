"""Campaign and flow values reports, summed over messages and over yearly chunks.

Both performance tools, and the comparison built on them, read a values report the same way:
one call per chunk of at most a year, rows summed by a key made of grouping fields, and the
names that ride along in the same rows (``group_by``) remembered — so names never cost a call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from klaviyo_analytics.registry import Account
from klaviyo_analytics.service import stats
from klaviyo_analytics.service.core import CallContext, KlaviyoService
from klaviyo_analytics.timeframes import Period, chunk

TIME_BASIS_WARNING = (
    "Engagement and conversion statistics are attributed by event time, while 'sent' is anchored to the "
    "send date; counts in a short window may not align."
)


@dataclass
class Summed:
    counts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(stats.COUNTS, 0.0))
    # Each non-key grouping field -> its distinct values, in the order first seen.
    labels: dict[str, list[str]] = field(default_factory=dict)

    def label(self, name: str) -> str | None:
        values = self.labels.get(name)
        return values[0] if values else None


def chunk_warning(chunks: list[Period]) -> list[str]:
    if len(chunks) < 2:
        return []
    return [f"The window is longer than one year, so it was fetched as {len(chunks)} chunks and summed."]


def summed_values_report(
    svc: KlaviyoService,
    account: Account,
    entity: str,
    period: Period,
    ctx: CallContext,
    *,
    group_by: list[str],
    key_fields: list[str],
    only_id: str | None = None,
) -> tuple[dict[tuple[str, ...], Summed], list[str]]:
    """Rows of the ``{entity}-values`` report summed by ``key_fields``; the first key field must be set."""
    attributes: dict[str, Any] = {
        "statistics": stats.REPORT_STATISTICS,
        "conversion_metric_id": account.conversion_metric_id,
        "group_by": group_by,
    }
    if only_id:
        attributes["filter"] = f'equals({entity}_id,"{only_id}")'
    chunks = chunk(period)
    rows: dict[tuple[str, ...], Summed] = {}
    for index, window in enumerate(chunks):
        ctx.progress(index, len(chunks), f"{entity} report {window.start}..{window.end}")
        for result in svc.values_report(account, f"{entity}-values", window, attributes, ctx).results:
            groupings = result.get("groupings") or {}
            key = tuple(str(groupings.get(name) or "") for name in key_fields)
            if not key[0]:
                continue
            entry = rows.setdefault(key, Summed())
            stats.add_counts(entry.counts, stats.counts_from_statistics(result.get("statistics") or {}))
            for name, value in groupings.items():
                if name not in key_fields and value and str(value) not in entry.labels.setdefault(name, []):
                    entry.labels[name].append(str(value))
    ctx.progress(len(chunks), len(chunks), f"{entity} report done")
    return rows, chunk_warning(chunks)

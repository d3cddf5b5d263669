"""Segment tools: current sizes, and membership change over time.

Sizes come from one segment-values report for every segment (:mod:`.segment_sizes`), and
otherwise from one paced lookup per segment, exactly like list sizes (:mod:`.sizes`). Growth comes
from Klaviyo's segment-series report (no conversion metric, no group_by; rows grouped by
``segment_id``), one report per chunk of the window: Klaviyo caps a daily series at 60 days,
a monthly one at 52 weeks and any report at a year. Reports are limited to 2 calls a
minute, so a window of many chunks may not fit one call's deadline: the chunks fetched so
far are returned with ``metadata.partial`` and a warning, and since reports are cached the
next call continues where this one stopped.
"""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.errors import FITS, DeadlineExceededError, InvalidArgumentError, RateLimitedError
from klaviyo_analytics.rules.timeframes import Period, chunk, resolve_period
from klaviyo_analytics.schemas.segments import (
    SegmentGrowthParams,
    SegmentGrowthResult,
    SegmentGrowthRow,
    SegmentGrowthTotals,
    SegmentRow,
    SegmentsParams,
    SegmentsResult,
)
from klaviyo_analytics.service.core import CallContext, KlaviyoService, Report, ToolResult
from klaviyo_analytics.service.freshness import report_ttl
from klaviyo_analytics.service.reports import select_rows
from klaviyo_analytics.service.segment_sizes import DATA_START, report_sizes
from klaviyo_analytics.service.sizes import SEGMENT, enumerate_items, fetch_sizes

SEGMENT_FIELDS = "name,is_active,is_processing,is_starred,created,updated"
STATISTICS = ("members_added", "members_removed", "net_members_changed", "total_members")
# Klaviyo's longest timeframe per series interval, in days (52 weeks for monthly; a year otherwise).
INTERVAL_MAX_DAYS = {"daily": 60, "weekly": 366, "monthly": 364}
# At 2 report calls a minute, more chunks than this take several tool calls to complete.
MAX_CHUNKS = 8


def get_segments(svc: KlaviyoService, params: SegmentsParams, ctx: CallContext) -> ToolResult[SegmentsResult]:
    account = svc.account(params.account)
    segments = enumerate_items(
        svc, account, SEGMENT, SEGMENT_FIELDS, ctx, only_id=params.segment_id, id_field="segment_id"
    )
    from_report, rest = report_sizes(svc, account, segments, ctx)
    sizes = fetch_sizes(svc, account, SEGMENT, rest, ctx)
    counts = {**from_report, **sizes.counts}
    rows = []
    for item in segments:
        attributes = item["attributes"]
        rows.append(
            SegmentRow(
                segment_id=item["id"],
                name=attributes.get("name"),
                profile_count=counts.get(item["id"]),
                is_active=attributes.get("is_active"),
                is_processing=attributes.get("is_processing"),
                is_starred=attributes.get("is_starred"),
                created=attributes.get("created"),
                updated=attributes.get("updated"),
            )
        )
    warnings = sizes.warnings(SEGMENT)
    if any(row.is_processing for row in rows):
        warnings.append("Some segments are still processing; their profile_count may be incomplete.")
    return ToolResult(
        SegmentsResult(segments=rows, segment_count=len(rows), pending=sizes.pending),
        account=account.slug,
        warnings=warnings,
        extra_metadata={**sizes.metadata(), "sizes": {"from_report": len(from_report), "from_lookups": len(rest)}},
    )


def _window(svc: KlaviyoService, params: SegmentGrowthParams) -> tuple[Period, list[Period]]:
    period = resolve_period(params.start_date, params.end_date, params.timeframe, svc.today())
    assert period is not None  # required=True raises instead
    if period.start < DATA_START:
        field = "start_date" if params.start_date is not None else "timeframe"
        raise InvalidArgumentError(
            f"Klaviyo has no segment report data before {DATA_START}; the window starts {period.start}. "
            f"Set start_date to {DATA_START} or later.",
            field=field,
            rule=FITS,
        )
    chunks = chunk(period, INTERVAL_MAX_DAYS[params.interval])
    if len(chunks) > MAX_CHUNKS:
        raise InvalidArgumentError(
            f"a {params.interval} series over {period.days} days needs {len(chunks)} report calls, and Klaviyo "
            f"allows 2 a minute; use a coarser interval (weekly or monthly) or a window of at most "
            f"{MAX_CHUNKS * INTERVAL_MAX_DAYS[params.interval]} days",
            field="interval",
            rule=FITS,
        )
    return period, chunks


class _Series:
    """One segment's buckets in date order; a bucket split across two chunks (same start) is merged."""

    def __init__(self) -> None:
        self.buckets: dict[str, list[int]] = {}  # date_time -> [added, removed, net, total]

    def add(self, date_times: list[str], statistics: dict[str, Any]) -> None:
        columns = [list(statistics.get(name) or []) for name in STATISTICS]
        for index, when in enumerate(date_times):
            added, removed, net, total = (_int(col[index]) if index < len(col) else 0 for col in columns)
            bucket = self.buckets.get(when)
            if bucket is None:
                self.buckets[when] = [added, removed, net, total]
            else:  # the later chunk ends later: its total is the bucket's end
                self.buckets[when] = [bucket[0] + added, bucket[1] + removed, bucket[2] + net, total]

    def row(self, segment_id: str, name: str | None) -> SegmentGrowthRow:
        dates = list(self.buckets)
        added, removed, net, total = ([self.buckets[d][k] for d in dates] for k in range(4))
        totals = SegmentGrowthTotals(
            added=sum(added),
            removed=sum(removed),
            net=sum(net),
            start_total=total[0] - net[0] if dates else None,
            end_total=total[-1] if dates else None,
        )
        return SegmentGrowthRow(
            segment_id=segment_id, name=name, date_times=dates, members_added=added, members_removed=removed,
            net_members_changed=net, total_members=total, totals=totals,
        )  # fmt: skip


def _int(value: Any) -> int:
    return round(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def get_segment_growth(
    svc: KlaviyoService, params: SegmentGrowthParams, ctx: CallContext
) -> ToolResult[SegmentGrowthResult]:
    account = svc.account(params.account)
    period, chunks = _window(svc, params)
    segments = enumerate_items(svc, account, SEGMENT, "name", ctx, only_id=params.segment_id, id_field="segment_id")
    names = {item["id"]: item["attributes"].get("name") for item in segments}
    # Every segment, unfiltered: one segment's growth is a selection from the account-wide report
    # of the same window and interval (the rows equals(segment_id,…) would keep), so the two share
    # one report call.
    attributes: dict[str, Any] = {"statistics": list(STATISTICS), "interval": params.interval}

    series: dict[str, _Series] = {}
    warnings: list[str] = []
    metadata: dict[str, Any] = {"partial": False}
    for index, window in enumerate(chunks):
        ctx.progress(index, len(chunks), f"segment report {window.start}..{window.end}")
        try:
            ttl = report_ttl(svc, account, window, ctx)
            report: Report = svc.values_report(account, "segment-series", window, attributes, ctx, cache_ttl=ttl)
        except (DeadlineExceededError, RateLimitedError) as exc:
            if index == 0:
                raise  # nothing to show: the error says when to try again
            retry = exc.details.get("retry_after_seconds")
            done = chunks[index - 1].end
            metadata = {"partial": True, "complete_through": done.isoformat()}
            if retry:
                metadata["retry_after_seconds"] = retry
            warnings.append(
                f"The series stops at {done} of {period.end}: Klaviyo allows 2 report calls a minute. Call again"
                + (f" in about {retry} s" if retry else "")
                + " to extend it; the parts already fetched are cached."
            )
            break
        for result in select_rows(report.results, "segment_id", params.segment_id):
            segment_id = str((result.get("groupings") or {}).get("segment_id") or "")
            if segment_id:
                series.setdefault(segment_id, _Series()).add(report.date_times, result.get("statistics") or {})
    else:
        ctx.progress(len(chunks), len(chunks), "segment reports done")

    rows = [series[sid].row(sid, names.get(sid)) for sid in series if params.segment_id in (None, sid)]
    rows.sort(key=lambda r: (-abs(r.totals.net), r.name or "", r.segment_id))
    if len(chunks) > 1:
        warnings.append(f"The window was fetched as {len(chunks)} {params.interval} reports and joined.")
    return ToolResult(
        SegmentGrowthResult(segments=rows, segment_count=len(rows), interval=params.interval),
        account=account.slug,
        period=period,
        warnings=warnings,
        extra_metadata=metadata,
    )

"""The Reporting API: campaign/flow values and series, segment values and series.

Counts come from the per-hour event streams (see events.py for which event feeds which
statistic; attribution is by event time). Rates are computed from the summed counts of each
group by rates.py, with Klaviyo's definitions. A group appears when any of its counts is
non-zero. Campaign and flow reports return every result at once: the spec does not say how a
next ``page_cursor`` would be returned, so the sandbox never needs one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from klaviyo_sandbox import filters, timeframes
from klaviyo_sandbox.events import BOUNCED, CLICKED, FAILED, OPENED, RECEIVED, SPAM, UNSUBSCRIBED
from klaviyo_sandbox.jsonapi import ApiError, invalid
from klaviyo_sandbox.models import Account
from klaviyo_sandbox.rates import COUNTS, statistics
from klaviyo_sandbox.series import Series

_SCALAR = {"operators": {"single": ["equals"], "list": ["contains-any"]}, "value": {"type": "string"}}
_TAGS = {"operators": {"list": ["contains-any", "contains-all"]}, "value": {"type": "string"}}
_CHANNEL = {**_SCALAR, "value": {"type": "string", "enum": ["email", "sms", "push-notification", "whatsapp"]}}
_COMMON = {
    "send_channel": _CHANNEL,
    "variation": _SCALAR,
    "variation_name": _SCALAR,
    "text_message_format": _SCALAR,
    "tag_id": _TAGS,
    "tag_name": _TAGS,
}
REPORT_FILTERS: dict[str, dict[str, Any]] = {
    "campaign": {**_COMMON, **dict.fromkeys(("campaign_id", "campaign_message_id", "campaign_message_name"), _SCALAR)},
    "flow": {**_COMMON, **dict.fromkeys(("flow_id", "flow_name", "flow_message_id", "flow_message_name"), _SCALAR)},
    "segment": {"segment_id": {"operators": {"single": ["equals"], "list": ["any"]}, "value": {"type": "string"}}},
}
REQUIRED_GROUPS = {"campaign": ("campaign_id", "campaign_message_id"), "flow": ("flow_id", "flow_message_id")}
DEFAULT_GROUPS = {
    "campaign": ["campaign_id", "campaign_message_id", "send_channel"],
    "flow": ["flow_id", "flow_message_id", "send_channel"],
}
_CHANNELS = {"email": "email", "sms": "sms", "mobile_push": "push-notification"}


@dataclass(frozen=True)
class Row:
    """One message as a report sees it: its grouping values and the streams behind its counts."""

    groupings: dict[str, Any]
    sources: tuple[tuple[str, Series | None, int], ...]  # (count name, stream, 0 count | 1 unique | 2 cents)
    segments_per_send: int


def _sources(account: Account, mid: str, channel: str, conversion_metric: str) -> tuple[Any, ...]:
    events, metric = account.events, account.metric_id

    def by_msg(name: str) -> Series | None:
        return events.by_message.get((mid, metric(name)))

    received, clicked, unsub = (
        by_msg(RECEIVED.get(channel, "")),
        by_msg(CLICKED.get(channel, "")),
        by_msg(UNSUBSCRIBED.get(channel, "")),
    )
    opened, bounced, spam = by_msg(OPENED), by_msg(BOUNCED), by_msg(SPAM)
    failed = by_msg(FAILED)
    conv = events.attributed.get((mid, conversion_metric))
    return (
        ("recipients", received, 0),
        ("bounced", bounced, 0),
        ("failed", failed, 0),
        ("opens", opened, 0),
        ("opens_unique", opened, 1),
        ("clicks", clicked, 0),
        ("clicks_unique", clicked, 1),
        ("spam_complaints", spam, 0),
        ("unsubscribes", unsub, 0),
        ("unsubscribe_uniques", unsub, 1),
        ("conversions", conv, 0),
        ("conversion_uniques", conv, 1),
        ("conversion_value", conv, 2),
    )


def _sms_segments(definition: dict[str, Any]) -> int:
    body = str((definition.get("content") or {}).get("body") or definition.get("body") or "")
    return max(1, -(-len(body) // 160))


def campaign_rows(account: Account, conversion_metric: str) -> list[Row]:
    rows = []
    for campaign in account.campaigns.values():
        for mid in campaign.message_ids:
            msg = account.messages[mid]
            groupings: dict[str, Any] = {
                "campaign_id": campaign.id,
                "campaign_message_id": mid,
                "campaign_message_name": msg.label or campaign.name,
                "send_channel": _CHANNELS.get(msg.channel, msg.channel),
                "group": None,
                "group_name": None,
                "tag_id": [],
                "tag_name": [],
                "text_message_format": "SMS" if msg.channel == "sms" else None,
                "variation": None,
                "variation_name": None,
            }
            segs = _sms_segments(msg.definition) if msg.channel == "sms" else 0
            rows.append(Row(groupings, _sources(account, mid, msg.channel, conversion_metric), segs))
    return rows


def flow_rows(account: Account, conversion_metric: str) -> list[Row]:
    rows = []
    for fm in account.flow_messages.values():
        flow = account.flows[fm.flow_id]
        groupings: dict[str, Any] = {
            "flow_id": flow.id,
            "flow_name": flow.name,
            "flow_message_id": fm.id,
            "flow_message_name": fm.name,
            "send_channel": _CHANNELS.get(fm.channel, fm.channel),
            "tag_id": [],
            "tag_name": [],
            "text_message_format": "SMS" if fm.channel == "sms" else None,
            "variation": None,
            "variation_name": None,
        }
        segs = _sms_segments(fm.definition) if fm.channel == "sms" else 0
        rows.append(Row(groupings, _sources(account, fm.id, fm.channel, conversion_metric), segs))
    return rows


def _row_counts(row: Row, bounds: Sequence[int]) -> list[dict[str, int]]:
    """Counts per bucket [bounds[k], bounds[k+1])."""
    n = len(bounds) - 1
    out = [dict.fromkeys(COUNTS, 0) for _ in range(n)]
    for name, series, which in row.sources:
        if series is None:
            continue
        if n == 1:
            out[0][name] += series.window(bounds[0], bounds[1])[which]
            continue
        for k, totals in enumerate(series.buckets(bounds)):
            out[k][name] += totals[which]
    for counts in out:
        counts["credits"] = counts["recipients"] * row.segments_per_send
    return out


def _check_filter(raw: Any, kind: str) -> list[filters.Condition]:
    if raw is None:
        return []
    if not isinstance(raw, str):
        raise invalid("filter must be a string.", pointer="/data/attributes/filter")
    try:
        conds = filters.check(filters.parse(raw), REPORT_FILTERS[kind], max_items=100)
    except ApiError as exc:
        raise invalid(exc.detail, pointer="/data/attributes/filter") from exc
    fields = [c.field for c in conds]
    if len(set(fields)) != len(fields):
        raise invalid("Only one filter per attribute is allowed.", pointer="/data/attributes/filter")
    return conds


def _statistics(attrs: dict[str, Any]) -> list[str]:
    stats = list(attrs["statistics"])
    if not stats:
        raise invalid("statistics must name at least one statistic.", pointer="/data/attributes/statistics")
    return stats


def _group_by(attrs: dict[str, Any], kind: str) -> list[str]:
    group_by = attrs.get("group_by") or DEFAULT_GROUPS[kind]
    missing = [g for g in REQUIRED_GROUPS[kind] if g not in group_by]
    if missing:
        raise invalid(
            f"The following group by attributes are required: {', '.join(REQUIRED_GROUPS[kind])}.",
            pointer="/data/attributes/group_by",
        )
    return list(dict.fromkeys(group_by))


def message_report(
    account: Account, kind: str, attrs: dict[str, Any], now: datetime, interval: str | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Campaign or flow values (``interval`` None) / series: (attributes, related ids by type)."""
    conversion = attrs.get("conversion_metric_id")
    if conversion not in account.metrics:
        raise invalid(f"Metric {conversion} does not exist.", pointer="/data/attributes/conversion_metric_id")
    tz = ZoneInfo(account.seed.timezone)
    start, end = timeframes.resolve(attrs.get("timeframe"), tz, now)
    group_by = _group_by(attrs, kind)
    conds = _check_filter(attrs.get("filter"), kind)
    stats = _statistics(attrs)
    dates, bounds = buckets(start, end, interval)
    rows = (campaign_rows if kind == "campaign" else flow_rows)(account, str(conversion))
    groups: dict[tuple[Any, ...], tuple[dict[str, Any], list[dict[str, int]]]] = {}
    for row in rows:
        if conds and not filters.matches(conds, row.groupings.__getitem__):
            continue
        per_bucket = _row_counts(row, bounds)
        if not any(any(counts.values()) for counts in per_bucket):
            continue
        key = tuple(str(row.groupings[g]) for g in group_by)
        if key not in groups:
            groups[key] = (
                {g: row.groupings[g] for g in group_by},
                [dict.fromkeys(per_bucket[0], 0) for _ in per_bucket],
            )
        for total, counts in zip(groups[key][1], per_bucket, strict=True):
            for name, value in counts.items():
                total[name] += value
    results = []
    related: dict[str, list[str]] = {}
    for groupings, per_bucket in groups.values():
        computed = [statistics(counts, stats) for counts in per_bucket]
        if interval is None:
            results.append({"groupings": groupings, "statistics": computed[0]})
        else:
            results.append({"groupings": groupings, "statistics": {s: [c[s] for c in computed] for s in stats}})
        for field, kind_name in (("campaign_id", "campaign"), ("flow_id", "flow"), ("flow_message_id", "flow-message")):
            if field in groupings and groupings[field] not in related.setdefault(kind_name, []):
                related[kind_name].append(groupings[field])
    attributes: dict[str, Any] = {"results": results}
    if interval is not None:
        attributes["date_times"] = [timeframes.isoformat(d) for d in dates]
    return attributes, related


def buckets(start: datetime, end: datetime, interval: str | None) -> tuple[list[datetime], list[int]]:
    """No interval: one bucket for the whole window (values); else the series' buckets, within its limit."""
    if interval is None:
        return [], [timeframes.hour_bound(start), timeframes.hour_bound(end)]
    unit, longest = timeframes.SERIES_INTERVALS[interval]
    if end - start > longest:
        raise invalid(f"The timeframe is too long for the '{interval}' interval.", pointer="/data/attributes/interval")
    return timeframes.buckets(start, end, unit)


def segment_report(account: Account, attrs: dict[str, Any], now: datetime, interval: str | None) -> dict[str, Any]:
    tz = ZoneInfo(account.seed.timezone)
    start, end = timeframes.resolve(attrs.get("timeframe"), tz, now)
    conds = _check_filter(attrs.get("filter"), "segment")
    dates, bounds = buckets(start, end, interval)
    stats = _statistics(attrs)
    results = []
    empty = Series()
    for seg in account.segments.values():
        if conds and not filters.matches(conds, {"segment_id": seg.id}.__getitem__):
            continue
        added = account.events.segment_added.get(seg.id, empty)
        removed = account.events.segment_removed.get(seg.id, empty)
        values: dict[str, list[int]] = {s: [] for s in stats}
        for lo, hi in pairwise(bounds):
            plus, minus = added.window(lo, hi)[0], removed.window(lo, hi)[0]
            total = seg.initial_count + added.window(0, hi)[0] - removed.window(0, hi)[0]
            row = {
                "members_added": plus,
                "members_removed": minus,
                "net_members_changed": plus - minus,
                "total_members": max(0, total),
            }
            for s in stats:
                values[s].append(row[s])
        statistics_out: dict[str, Any] = values if interval else {s: v[0] for s, v in values.items()}
        results.append({"groupings": {"segment_id": seg.id}, "statistics": statistics_out})
    attributes: dict[str, Any] = {"results": results}
    if interval is not None:
        attributes["date_times"] = [timeframes.isoformat(d) for d in dates]
    return attributes

"""Segment sizes from one segment-values report, where it answers as ``profile_count`` would.

Klaviyo's ``query_segment_values`` returns ``total_members`` for every segment at once (rows
grouped by ``segment_id``): one report call instead of one ``profile_count`` lookup per segment
at 1/s and 15/min (8 segments: 2 calls instead of 9). Both count the same membership; a values
report over Klaviyo's ``today`` timeframe ends after now, so its total is the segment's current
size. A segment is still looked up by ``profile_count`` (:func:`.sizes.fetch_sizes`) where the
two may differ or the report is not worth its cost:

- a segment the report has no row for (Klaviyo's report data may not cover it yet);
- a segment Klaviyo is still processing (``is_processing``): its report total may lag;
- every segment, when the report fails, or its next slot is further away than the lookups
  would take: reports are limited to 1/s, 2/min and 225/day per account, shared with every
  report tool;
- fewer than :data:`MIN_SEGMENTS` segments to size (one lookup costs no daily report quota).

Freshness and limits: the report is cached for ``KLAVIYO_MCP_LIST_SIZE_CACHE_TTL_SECONDS``, as the lookups
are, so a size is at most that old either way. Klaviyo has no segment report data before
2023-06-01 (:data:`DATA_START`); a ``today`` timeframe always starts later, and a clock set
earlier falls back to the lookups.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from klaviyo_analytics.errors import KlaviyoMCPError, MissingScopeError, UpstreamAuthError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.klaviyo.endpoints import PROFILE_COUNT_LIMIT, resolve
from klaviyo_analytics.service.core import CallContext, KlaviyoService

# "Data is unavailable before June 1st, 2023" (the segment report endpoints' description).
DATA_START = date(2023, 6, 1)
REPORT_PATH = "/api/segment-values-reports"
REPORT_BODY = {
    "data": {
        "type": "segment-values-report",
        "attributes": {"statistics": ["total_members"], "timeframe": {"key": "today"}},
    }
}
MIN_SEGMENTS = 2
# Time left for the request itself once the report's slot is ours.
REQUEST_MARGIN_SECONDS = 2.0


def report_sizes(
    svc: KlaviyoService, account: Account, segments: list[dict[str, Any]], ctx: CallContext
) -> tuple[dict[str, int | None], list[str]]:
    """Sizes the report gives, and the ids left for ``profile_count`` lookups (in order)."""
    ids = [item["id"] for item in segments]
    if len(ids) < MIN_SEGMENTS or svc.today() < DATA_START:
        return {}, ids
    ttl = svc.settings.list_size_cache_ttl_seconds
    if not (ttl > 0 and svc.client.is_cached(account, "POST", REPORT_PATH, None, REPORT_BODY)):
        resolved = resolve("POST", REPORT_PATH, None)
        wait = svc.client.pacer.wait_estimate(account.slug, resolved.bucket, resolved.limit) if resolved else 0.0
        if wait > _lookup_seconds(svc, len(ids)) or not ctx.deadline.allows(wait + REQUEST_MARGIN_SECONDS):
            return {}, ids
    try:
        document = svc.report_post(account, REPORT_PATH, REPORT_BODY, ctx, cache_ttl=ttl)
    except (UpstreamAuthError, MissingScopeError):
        raise  # the lookups would fail the same way (same key, same segments:read scope)
    except KlaviyoMCPError:
        return {}, ids  # rate-limited, out of time, a 5xx: the lookups answer instead
    totals = _totals(document)
    counts: dict[str, int | None] = {}
    rest: list[str] = []
    for item in segments:
        total = totals.get(item["id"])
        if total is None or item["attributes"].get("is_processing"):
            rest.append(item["id"])
        else:
            counts[item["id"]] = total
    return counts, rest


def _lookup_seconds(svc: KlaviyoService, n: int) -> float:
    """The least time n profile_count lookups take at their published limits (the pacer's windows)."""
    burst, steady = svc.client.pacer.windows(PROFILE_COUNT_LIMIT)[:2]
    full_windows, rest = divmod(max(0, n - 1), steady.limit)
    return full_windows * steady.seconds + rest * burst.seconds / burst.limit


def _totals(document: Any) -> dict[str, int]:
    attributes = ((document or {}).get("data") or {}).get("attributes") or {}
    totals: dict[str, int] = {}
    for row in attributes.get("results") or []:
        segment_id = str((row.get("groupings") or {}).get("segment_id") or "")
        value = (row.get("statistics") or {}).get("total_members")
        if segment_id and isinstance(value, int | float) and not isinstance(value, bool):
            totals[segment_id] = int(value)
    return totals

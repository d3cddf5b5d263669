"""``POST /api/metric-aggregates``: counts, uniques and value sums of one metric's events over time.

The body's ``filter`` must hold exactly one ``greater-or-equal(datetime,…)`` and one
``less-than(datetime,…)``; a datetime without an offset is read in the request ``timezone``
(default UTC). The range may span at most one year. Buckets (``interval`` hour|day|week|month,
weeks starting Monday) are floored in that timezone and ``dates`` lists their starts; events
are counted from the range start. Other filters (``equals``/``any``/``contains-any``) and
``by`` use the dimensions in the spec's ``by`` enum; an event without a dimension reports it as
``""``. ``sum_value`` is in the account currency. Every bucket of every row is present (zeros
included); rows with only zeros are left out unless there is no ``by``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from klaviyo_sandbox import filters, inbox, splits, timeframes
from klaviyo_sandbox import message_dims as _message_dims  # noqa: F401  (registers its derived dimensions)
from klaviyo_sandbox.jsonapi import ApiError, invalid
from klaviyo_sandbox.models import Account
from klaviyo_sandbox.series import Series

UNSUPPORTED_TIMEZONES = frozenset({"Factory", "Europe/Kyiv", "Pacific/Kanton"})
_POINTER = "/data/attributes"
_DIMENSION_OPS = {"single": ["equals", "contains-any"], "list": ["equals", "any", "contains-any"]}
# Dimensions a stream does not carry but is split into when a request groups or filters by them,
# each registered by the module that models it: name -> (account, metric id, dims, series) -> parts.
EXPANDERS: dict[str, inbox.Expander] = {**inbox.EXPANDERS}


def _timezone(raw: Any) -> ZoneInfo:
    name = raw or "UTC"
    if not isinstance(name, str) or name in UNSUPPORTED_TIMEZONES:
        raise invalid(f"Timezone {name!r} is not supported.", pointer=f"{_POINTER}/timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid(f"Unknown timezone {name!r}.", pointer=f"{_POINTER}/timezone") from exc


def _range_and_dimensions(
    raw: Any, tz: ZoneInfo, dimensions: list[str]
) -> tuple[datetime, datetime, list[filters.Condition]]:
    pointer = f"{_POINTER}/filter"
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise invalid("filter must be a list of filter strings.", pointer=pointer)
    conds: list[filters.Condition] = []
    try:
        for item in raw:
            conds += filters.parse(item)
    except ApiError as exc:
        raise invalid(exc.detail, pointer=pointer) from exc
    bounds: dict[str, datetime] = {}
    rest: list[filters.Condition] = []
    for cond in conds:
        if cond.field != "datetime":
            rest.append(cond)
            continue
        if cond.op not in ("greater-or-equal", "less-than") or cond.op in bounds:
            raise invalid("Use exactly one greater-or-equal and one less-than on datetime.", pointer=pointer)
        if not isinstance(cond.value, datetime):
            raise invalid("datetime filters take an ISO 8601 datetime.", pointer=pointer)
        bounds[cond.op] = cond.value if cond.value.tzinfo else cond.value.replace(tzinfo=tz)
    if len(bounds) != 2:
        raise invalid(
            "filter must include a time range: greater-or-equal(datetime,…) and less-than(datetime,…).",
            pointer=pointer,
        )
    start, end = bounds["greater-or-equal"].astimezone(tz), bounds["less-than"].astimezone(tz)
    if end <= start:
        raise invalid("The time range must end after it starts.", pointer=pointer)
    if timeframes.longer_than_a_year(start, end):
        raise invalid("The time range may span at most one year.", pointer=pointer)
    allowed = {name: {"operators": _DIMENSION_OPS, "value": {"type": "string"}} for name in dimensions}
    try:
        return start, end, filters.check(rest, allowed)
    except ApiError as exc:
        raise invalid(exc.detail, pointer=pointer) from exc


def aggregate(account: Account, attrs: dict[str, Any], dimensions: list[str]) -> dict[str, Any]:
    """The ``data`` member of the response; ``dimensions`` is the spec's ``by`` enum."""
    metric_id = attrs.get("metric_id")
    if metric_id not in account.metrics:
        raise invalid(f"Metric {metric_id} does not exist.", pointer=f"{_POINTER}/metric_id")
    measurements = attrs.get("measurements")
    if not isinstance(measurements, list) or not measurements:
        raise invalid(
            "measurements must list at least one of count, sum_value, unique.", pointer=f"{_POINTER}/measurements"
        )
    page_size = attrs.get("page_size")
    if page_size is not None and (not isinstance(page_size, int) or page_size < 1):
        raise invalid("page_size must be a positive integer.", pointer=f"{_POINTER}/page_size")
    tz = _timezone(attrs.get("timezone"))
    start, end, conds = _range_and_dimensions(attrs.get("filter"), tz, dimensions)
    unit = attrs.get("interval") or "day"
    by: list[str] = list(attrs.get("by") or [])
    dates, bounds = timeframes.buckets(start, end, unit)
    groups: dict[tuple[str, ...], list[list[int]]] = {}
    wanted = {*by, *(cond.field for cond in conds)}
    # Two kinds of derived dimensions: splits.py's (A/B variation, URL, …) and inbox.py's recipient ones.
    plain = [cond for cond in conds if cond.field not in splits.SPLITTERS and cond.field not in EXPANDERS]
    expanders = list(dict.fromkeys(EXPANDERS[n] for n in [*by, *(c.field for c in conds)] if n in EXPANDERS))
    for stream in account.events.by_metric.get(str(metric_id), []):
        if not any(stream.series.window(bounds[0], bounds[-1])):
            continue  # nothing in the range: it would only add a row of zeros, which is left out
        if plain and not filters.matches(plain, _getter(stream.dims)):
            continue  # decided before splitting: a split never changes a stream's own dimensions
        for split_dims, part in splits.expand(account, stream, wanted):
            for dims, series in _views(account, str(metric_id), split_dims, part, expanders, bounds):
                if conds and not filters.matches(conds, _getter(dims)):
                    continue
                key = tuple(dims.get(b, "") for b in by)
                _accumulate(groups.setdefault(key, [[0] * len(dates) for _ in range(3)]), series, bounds)
    if not by and not groups:
        groups[()] = [[0] * len(dates) for _ in range(3)]
    rows = []
    for key, (counts, uniques, sums) in groups.items():
        if by and not (any(counts) or any(uniques) or any(sums)):
            continue
        values = {"count": counts, "unique": uniques, "sum_value": [c / 100 for c in sums]}
        rows.append({"dimensions": list(key), "measurements": {m: values[m] for m in measurements}})
    _sort(rows, attrs.get("sort"), by)
    return {
        "type": "metric-aggregate",
        "id": str(uuid.uuid4()),
        "attributes": {"dates": [timeframes.isoformat(d) for d in dates], "data": rows},
    }


def _views(
    account: Account,
    metric_id: str,
    dims: dict[str, str],
    series: Series,
    expanders: list[inbox.Expander],
    bounds: list[int],
) -> list[tuple[dict[str, str], Series]]:
    """The series as is, or split by every expander the request needs over the requested hours (the
    parts add up to it)."""
    views = [(dims, series)]
    for expand in expanders:
        views = [
            ({**d, **extra}, part)
            for d, s in views
            for extra, part in expand(account, metric_id, d, s, bounds[0], bounds[-1])
        ]
    return views


def _accumulate(acc: list[list[int]], series: Series, bounds: list[int]) -> None:
    for k, (count, unique, cents) in enumerate(series.buckets(bounds)):
        acc[0][k] += count
        acc[1][k] += unique
        acc[2][k] += cents


def _getter(dims: dict[str, str]) -> Callable[[str], str]:
    return lambda name: dims.get(name, "")


def _sort(rows: list[dict[str, Any]], sort: Any, by: list[str]) -> None:
    if not isinstance(sort, str) or not sort:
        return
    name = sort.lstrip("-")
    reverse = sort.startswith("-")
    if name in by:
        index = by.index(name)
        rows.sort(key=lambda r: str(r["dimensions"][index]), reverse=reverse)
    elif name in ("count", "unique", "sum_value"):
        rows.sort(key=lambda r: sum(r["measurements"].get(name, [0])), reverse=reverse)

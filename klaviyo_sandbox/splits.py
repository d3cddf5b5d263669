"""Derived dimensions: a stream split on request into parts that add up to it, hour by hour.

The generator (events.py) writes one stream per metric and message; dimensions such as
``$variation``, ``URL`` or ``Inbox Provider`` are not generated as streams of their own. When a
metric-aggregates request groups or filters by one, the stream is split here into one part per
value, by fixed shares, and each hour's count, unique and value are divided among the parts
exactly (an error-diffusing allocator: the parts of every hour sum to the hour, and each part's
running total stays within about one event of its share). Grouping by a derived dimension
therefore sums back to the ungrouped numbers for any window, and every campaign and flow report
(which reads the unsplit streams) reconciles with it.

A module that adds dimensions registers a :data:`Splitter` per name in :data:`SPLITTERS`;
aggregates.py imports it. A splitter sees the account, the metric's name and the stream's
dimensions and returns the parts as ``(value, shares)``, or ``None`` when the dimension does not
apply (the stream then reports it as ``""``, as Klaviyo does for an event without it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from klaviyo_sandbox.models import Account
from klaviyo_sandbox.series import Series, Stream


@dataclass(frozen=True)
class Shares:
    """How one part's share of a stream is set: of its uniques, of its repeat events, of its value."""

    unique: float
    count: float | None = None  # repeat events (count - unique); defaults to ``unique``
    value: float | None = None  # defaults to ``unique``


Part = tuple[str, Shares]
Splitter = Callable[[Account, str, dict[str, str]], list[Part] | None]
SPLITTERS: dict[str, Splitter] = {}


def register(name: str, splitter: Splitter) -> None:
    SPLITTERS[name] = splitter


def allocate(n: int, desired: list[float]) -> list[int]:
    """``n`` whole events divided in proportion to ``desired`` (negatives count as 0), summing to ``n``."""
    if n <= 0:
        return [0] * len(desired)
    quotas = [max(0.0, d) for d in desired]
    if not any(quotas):
        quotas = [1.0] * len(quotas)
    total = sum(quotas)
    quotas = [q * n / total for q in quotas]
    parts = [int(q) for q in quotas]
    order = sorted(range(len(quotas)), key=lambda k: (parts[k] - quotas[k], k))
    for k in order[: n - sum(parts)]:
        parts[k] += 1
    return parts


class _Diffuser:
    """Hands out a stream of integers by shares, carrying each part's rounding error forward."""

    def __init__(self, shares: list[float]) -> None:
        total = sum(shares) or 1.0
        self.shares = [s / total for s in shares]
        self.total = 0
        self.given = [0] * len(shares)

    def take(self, n: int) -> list[int]:
        self.total += n
        parts = allocate(n, [self.total * s - g for s, g in zip(self.shares, self.given, strict=True)])
        self.given = [g + p for g, p in zip(self.given, parts, strict=True)]
        return parts


def split_series(series: Series, shares: list[Shares]) -> list[Series]:
    """``series`` divided into ``len(shares)`` series whose hours add up to it exactly."""
    out = [Series() for _ in shares]
    uniques = _Diffuser([s.unique for s in shares])
    repeats = _Diffuser([s.unique if s.count is None else s.count for s in shares])
    values = _Diffuser([s.unique if s.value is None else s.value for s in shares])
    c, u, v = series.counts, series.uniques, series.values
    for i, hour in enumerate(series.hours):
        unique = u[i + 1] - u[i]
        us = uniques.take(unique)
        rs = repeats.take(c[i + 1] - c[i] - unique)
        vs = values.take(v[i + 1] - v[i])
        for k, part in enumerate(out):
            part.add(hour, us[k] + rs[k], us[k], vs[k])
    return out


def expand(account: Account, stream: Stream, wanted: set[str]) -> list[tuple[dict[str, str], Series]]:
    """The stream as parts carrying the derived dimensions in ``wanted`` (itself when none applies)."""
    parts = [(stream.dims, stream.series)]
    names = sorted(name for name in wanted if name in SPLITTERS and name not in stream.dims)
    if not names:
        return parts
    metric = account.metrics[stream.metric_id].name if stream.metric_id in account.metrics else ""
    # Splits are pure functions of the (shared, read-only) event index: computed once per index.
    cache: dict[tuple[int, str, tuple[Part, ...]], list[Series]] = vars(account.events).setdefault("_splits", {})
    for name in names:
        following: list[tuple[dict[str, str], Series]] = []
        for dims, series in parts:
            plan = SPLITTERS[name](account, metric, dims)
            if not plan:
                following.append((dims, series))
                continue
            key = (id(series), name, tuple(plan))
            if key not in cache:
                cache[key] = split_series(series, [shares for _, shares in plan])
            following.extend(({**dims, name: value}, sub) for (value, _), sub in zip(plan, cache[key], strict=True))
        parts = following
    return parts

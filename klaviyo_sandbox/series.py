"""Pre-aggregated event streams: what makes every report a handful of bisects.

Events are generated on whole UTC hours and stored per *stream* — one metric plus one fixed set
of dimensions (``$message``, ``$flow``, ``List``, …). A stream keeps its hours in order with
running totals of ``count``, ``unique`` and ``sum_value``, so the total over any window of hours
is two bisects and a subtraction, whatever the window's length.

``unique`` is the number of profiles whose *first* event of that stream falls in the hour, so
uniques add up across hours and every report — campaign/flow values and series, metric
aggregates by any interval — sees the same numbers for the same window.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

HOUR = 3600


@dataclass
class Series:
    """Sorted hours (hours since the epoch) and running totals; totals[i] covers hours[:i]."""

    hours: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=lambda: [0])
    uniques: list[int] = field(default_factory=lambda: [0])
    values: list[int] = field(default_factory=lambda: [0])  # sum of event values, in cents

    def add(self, hour: int, count: int, unique: int = 0, value: int = 0) -> None:
        """Append one hour's events; hours must arrive in non-decreasing order."""
        if count == 0 and unique == 0 and value == 0:
            return
        if self.hours and hour < self.hours[-1]:
            raise ValueError("hours must be added in order")
        if self.hours and hour == self.hours[-1]:
            self.counts[-1] += count
            self.uniques[-1] += unique
            self.values[-1] += value
            return
        self.hours.append(hour)
        self.counts.append(self.counts[-1] + count)
        self.uniques.append(self.uniques[-1] + unique)
        self.values.append(self.values[-1] + value)

    def window(self, start: int, end: int) -> tuple[int, int, int]:
        """(count, unique, value in cents) of the events in hours [start, end)."""
        i = bisect_left(self.hours, start)
        j = bisect_left(self.hours, end)
        return (
            self.counts[j] - self.counts[i],
            self.uniques[j] - self.uniques[i],
            self.values[j] - self.values[i],
        )

    def buckets(self, bounds: Sequence[int]) -> list[tuple[int, int, int]]:
        """Window totals for consecutive buckets [bounds[k], bounds[k+1])."""
        idx = [bisect_left(self.hours, b) for b in bounds]
        c, u, v = self.counts, self.uniques, self.values
        return [(c[j] - c[i], u[j] - u[i], v[j] - v[i]) for i, j in pairwise(idx)]

    def total(self) -> tuple[int, int, int]:
        return self.counts[-1], self.uniques[-1], self.values[-1]


@dataclass
class Stream:
    metric_id: str
    dims: dict[str, str]
    series: Series = field(default_factory=Series)


class EventIndex:
    """Every stream of one account, reachable by metric and by (metric, message)."""

    def __init__(self) -> None:
        self.by_metric: dict[str, list[Stream]] = {}
        self._by_key: dict[tuple[str, tuple[tuple[str, str], ...]], Stream] = {}
        self.by_message: dict[tuple[str, str], Series] = {}  # ($message, metric id)
        self.attributed: dict[tuple[str, str], Series] = {}  # ($attributed_message, metric id)
        self.segment_added: dict[str, Series] = {}  # segment id -> members added per hour
        self.segment_removed: dict[str, Series] = {}
        self.form_stats: dict[tuple[str, str], Series] = {}  # (form version id, form statistic) per hour
        # $message -> provider -> factor on its spam complaints' provider shares (inbox.py).
        self.inbox_skew: dict[str, dict[str, float]] = {}

    def find(self, metric_id: str, dims: dict[str, str]) -> Series | None:
        found = self._by_key.get((metric_id, tuple(sorted(dims.items()))))
        return found.series if found else None

    def stream(self, metric_id: str, dims: dict[str, str]) -> Series:
        key = (metric_id, tuple(sorted(dims.items())))
        found = self._by_key.get(key)
        if found is None:
            found = Stream(metric_id, dict(dims))
            self._by_key[key] = found
            self.by_metric.setdefault(metric_id, []).append(found)
            if "$message" in dims:
                self.by_message[(dims["$message"], metric_id)] = found.series
            if "$attributed_message" in dims:
                self.attributed[(dims["$attributed_message"], metric_id)] = found.series
        return found.series

"""How strongly two weekly series move together, said in words that claim no cause.

Pearson's r (linear) and Spearman's ρ (rank: Pearson on the ranks, ties averaged, robust to one
outlying week) from the standard library's ``statistics.correlation``. The p-value of "no
correlation" uses Fisher's transformation, ``atanh(r)·√(n−3)`` against a standard normal: an
approximation that is rough below about ten points, which is why the answer always states n.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from klaviyo_analytics.rules.significance import normal_two_sided

# Fewer points than this: no coefficient (Fisher's approximation needs n > 3, and fewer say nothing).
MIN_POINTS = 4
# |coefficient| below each bound -> the word (Cohen's conventional 0.1 / 0.3 / 0.5).
STRENGTH = ((0.1, "no"), (0.3, "a weak"), (0.5, "a moderate"), (1.01, "a strong"))


@dataclass(frozen=True)
class Correlation:
    n: int
    pearson: float | None
    spearman: float | None
    p_value: float | None
    strength: str  # "no", "a weak", "a moderate", "a strong", or "too few weeks"
    direction: str  # "positive", "negative" or ""


def ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties given the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return out


def _pearson(x: list[float], y: list[float]) -> float | None:
    try:
        return statistics.correlation(x, y)
    except statistics.StatisticsError:
        return None  # a constant series: no correlation is defined


def correlate(x: list[float], y: list[float]) -> Correlation:
    n = len(x)
    if n < MIN_POINTS:
        return Correlation(n, None, None, None, "too few weeks", "")
    pearson, spearman = _pearson(x, y), _pearson(ranks(x), ranks(y))
    lead = spearman if spearman is not None else pearson
    if lead is None:
        return Correlation(n, pearson, spearman, None, "no", "")
    clipped = max(-0.999999, min(0.999999, lead))
    p_value = normal_two_sided(math.atanh(clipped) * math.sqrt(n - 3))
    strength = next(word for bound, word in STRENGTH if abs(lead) < bound)
    direction = "" if strength == "no" else ("positive" if lead > 0 else "negative")
    return Correlation(n, pearson, spearman, p_value, strength, direction)

"""Is a change between two windows more than noise? Two small tests, normal approximations.

- Rates (opens per delivery, unsubscribes per delivery…): the two-proportion z-test with the
  pooled proportion. Each window is ``successes`` out of ``trials``.
- Counts (sends, conversions): a Poisson count per unit of exposure (days), tested conditionally:
  given the total ``c1 + c2``, the current window's share is binomial with ``p = t1 / (t1 + t2)``
  under "the rate did not change", and that binomial is tested with its normal approximation
  (continuity-corrected).

Both return a two-sided p-value, or ``None`` when there are too few events for the approximation
to mean anything (fewer than ``MIN_EVENTS`` in the two windows together): a caller treats that as
"not significant", never as "significant". ``math.erfc`` gives the normal tail; scipy is not a
dependency of the product.
"""

from __future__ import annotations

import math
from statistics import NormalDist

# Fewer events than this in both windows together: no test, no finding.
MIN_EVENTS = 10


def normal_two_sided(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def two_proportions(x1: float, n1: float, x2: float, n2: float) -> float | None:
    """Two-sided p-value that ``x1/n1`` and ``x2/n2`` come from one proportion (pooled z-test)."""
    if n1 <= 0 or n2 <= 0 or x1 < 0 or x2 < 0 or x1 > n1 or x2 > n2 or x1 + x2 < MIN_EVENTS:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    if pooled >= 1.0:
        return 1.0  # every trial a success in both windows: no difference to test
    spread = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    return normal_two_sided((x1 / n1 - x2 / n2) / spread)


def poisson_counts(c1: float, t1: float, c2: float, t2: float) -> float | None:
    """Two-sided p-value that counts ``c1`` over exposure ``t1`` and ``c2`` over ``t2`` share one rate."""
    total = c1 + c2
    if t1 <= 0 or t2 <= 0 or c1 < 0 or c2 < 0 or total < MIN_EVENTS:
        return None
    share = t1 / (t1 + t2)
    expected = total * share
    spread = math.sqrt(total * share * (1.0 - share))
    gap = max(0.0, abs(c1 - expected) - 0.5)  # continuity correction
    return normal_two_sided(gap / spread)


def none_expected(rate: float, trials: float) -> float:
    """P(no event in ``trials``) when each happens at ``rate`` (Poisson): the p-value of a zero."""
    return math.exp(-max(0.0, rate) * max(0.0, trials))


# The sample-size estimate's conventions: a 5% two-sided test with 80% power.
ALPHA = 0.05
POWER = 0.8


def sample_per_group(p1: float, p2: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Trials each group needs for the two-proportion z-test to detect ``p1`` against ``p2``.

    The usual normal-approximation formula (Fleiss): ``n = (z₁₋α/₂·√(2p̄q̄) + z₁₋β·√(p₁q₁+p₂q₂))² / (p₁−p₂)²``
    with ``p̄`` their mean; None when the rates are equal or outside (0, 1).
    """
    if not (0.0 < p1 < 1.0 and 0.0 < p2 < 1.0) or p1 == p2:
        return None
    normal = NormalDist()
    z_alpha, z_beta = normal.inv_cdf(1.0 - alpha / 2.0), normal.inv_cdf(power)
    mean = (p1 + p2) / 2.0
    root = z_alpha * math.sqrt(2.0 * mean * (1.0 - mean)) + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root * root / ((p1 - p2) ** 2))

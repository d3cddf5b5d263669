"""Which answers ``python -m klaviyo_analytics warm`` computes before anyone asks.

A tool is warmable when its catalog entry sets ``warm=`` to the arguments to ask it with, one
line: ``warm=over_common_windows(entity="flow")``. ``warm`` runs each of them through the same
path a person's question takes (``run_tool``), so every report it fetches lands under the very
cache key that question will look up; it never needs to know which reports a tool reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The windows people ask about most, in the order warm asks them: the most asked first (a budget
# that runs out keeps those), the open month last (its answer stays fresh only
# KLAVIYO_MCP_CACHE_TTL_OPEN_SECONDS, so it is fetched closest to the end of the run).
COMMON_TIMEFRAMES: tuple[str, ...] = ("last_30_days", "last_7_days", "last_month", "this_month")
# A request without a timeframe (list health; the digest, which reads its own weeks) comes after
# the last 7 days, the digest's week.
WINDOWLESS_RANK = 1.5

WarmRequest = Mapping[str, Any]


def over_common_windows(**fixed: Any) -> tuple[WarmRequest, ...]:
    """The tool asked over each common window, with ``fixed`` arguments (``entity="flow"``)."""
    return tuple({**fixed, "timeframe": timeframe} for timeframe in COMMON_TIMEFRAMES)


def once(**fixed: Any) -> tuple[WarmRequest, ...]:
    """The tool asked once, as is (a windowless tool, or one that picks its own windows)."""
    return (dict(fixed),)


def rank(arguments: WarmRequest) -> float:
    timeframe = arguments.get("timeframe")
    if timeframe in COMMON_TIMEFRAMES:
        return float(COMMON_TIMEFRAMES.index(timeframe))
    return WINDOWLESS_RANK

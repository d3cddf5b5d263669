"""Health bands: each email rate judged against the targets Klaviyo publishes, with the source.

One table, here, with where it comes from and when it was read; every result that carries
bands repeats the source (``BANDS_SOURCE``) so a reader can check it.

Source: Klaviyo Help Center, "Understanding the deliverability tab in campaigns and flows"
(https://help.klaviyo.com/hc/en-us/articles/12695416712219), table "Deliverability performance
targets" — the copy read carries "Updated Oct 10, 2024"; read 2026-12-02. The same targets
(spam < 0.01%, opens > 33% excluding Apple Mail Privacy Protection, unsubscribes < 0.3%) are in
"Getting started with email deliverability monitoring and performance metrics"
(https://help.klaviyo.com/hc/en-us/articles/115000201131). An older set of bands in that second
article (Great / Proficient / Room for improvement / Critical; opens ≥ 25% "great") is superseded
and not used.

Klaviyo's open-rate target excludes Apple Mail Privacy Protection (MPP) opens, which the
reporting API does not separate: an open rate here includes them, so its band is flagged.
Bands apply to email only (SMS has no opens, and these are email deliverability targets), and
only from ``MIN_BAND_DELIVERIES`` deliveries: a rate over a dozen sends judges nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field

from klaviyo_analytics.schemas.common import OutputModel

HEALTHY, IMPROVE, ATTENTION = "healthy", "room_for_improvement", "needs_attention"
BAND_ORDER = (HEALTHY, IMPROVE, ATTENTION)
# rate -> (direction, healthy limit, needs-attention limit). "max": lower is better — healthy
# below the first, needs attention above the second; "min": higher is better, the reverse.
# Values between the limits (limits included) are room for improvement.
BANDS: dict[str, tuple[str, float, float]] = {
    "bounce_rate": ("max", 0.01, 0.02),
    "spam_complaint_rate": ("max", 0.0001, 0.0005),
    "unsubscribe_rate": ("max", 0.003, 0.01),
    "open_rate": ("min", 0.33, 0.27),
    "click_rate": ("min", 0.012, 0.008),
}
SOURCE_URL = "https://help.klaviyo.com/hc/en-us/articles/12695416712219"
SOURCE_TITLE = "Klaviyo Help Center: Understanding the deliverability tab in campaigns and flows"
SOURCE_UPDATED = "2024-10-10"
SOURCE_READ = "2026-12-02"
MIN_BAND_DELIVERIES = 100
MPP_NOTE = (
    "open_rate includes Apple Mail Privacy Protection opens, which Klaviyo's reporting API does not separate; "
    "Klaviyo's 33% target excludes them, so the open-rate band may read better than engagement is."
)


class BandsSource(OutputModel):
    source: str = SOURCE_URL
    title: str = SOURCE_TITLE
    updated: str = SOURCE_UPDATED
    read: str = SOURCE_READ
    min_deliveries: int = MIN_BAND_DELIVERIES
    apple_mpp: str = MPP_NOTE
    bands: dict[str, list[float]] = Field(
        default_factory=lambda: {rate: [healthy, attention] for rate, (_, healthy, attention) in BANDS.items()}
    )


def band(rate: str, value: float | None) -> str | None:
    """The band of one rate (None: the rate has no band, or no value)."""
    if value is None or rate not in BANDS:
        return None
    direction, healthy, attention = BANDS[rate]
    if direction == "max":
        return HEALTHY if value < healthy else ATTENTION if value > attention else IMPROVE
    return HEALTHY if value > healthy else ATTENTION if value < attention else IMPROVE


def row_health(counts: Mapping[str, float], rates: Mapping[str, object]) -> dict[str, str]:
    """Bands of a row's rates: email rows with enough deliveries only (empty otherwise)."""
    delivered = counts.get("delivered", 0.0)
    if delivered < MIN_BAND_DELIVERIES or counts.get("email_delivered", 0.0) < delivered:
        return {}
    out = {}
    for rate in BANDS:
        value = rates.get(rate)
        name = band(rate, value if isinstance(value, int | float) else None)
        if name:
            out[rate] = name
    return out


def worst(health: Mapping[str, str]) -> str | None:
    """The worst band among a row's rates."""
    found = [BAND_ORDER.index(b) for b in health.values() if b in BAND_ORDER]
    return BAND_ORDER[max(found)] if found else None


def mpp_warning(rows: Iterable[Any]) -> list[str]:
    """The Apple MPP flag, once per answer, when any row's open rate was banded."""
    return [MPP_NOTE] if any("open_rate" in (getattr(row, "health", None) or {}) for row in rows) else []

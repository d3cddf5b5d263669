"""Lists: current sizes (health), subscribe/unsubscribe growth, and the two merged (breakdown)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.common import (
    AccountParams,
    KlaviyoId,
    OutputModel,
    WindowParams,
    full_pattern,
    matching,
)

PENDING_DESCRIPTION = "Ids not sized yet (rate limit): call again later."
_RESUME = r"[A-Za-z0-9_-]{8,32}"
ResumeToken = Annotated[
    str,
    matching(_RESUME, "the metadata.resume token of a partial answer"),
    full_pattern(_RESUME),
    Field(description="A partial answer's metadata.resume."),
]


class ListHealthParams(AccountParams):
    list_id: KlaviyoId | None = Field(None, description="Only this list.")
    resume: ResumeToken | None = None


class ListHealthRow(OutputModel):
    list_id: str
    name: UntrustedText | None
    opt_in_process: str | None
    profile_count: int | None = Field(description="Current members; null if pending or the lookup failed.")
    created: str | None
    updated: str | None


class ListHealthResult(OutputModel):
    lists: list[ListHealthRow]
    list_count: int
    total_profiles: int = Field(description="Sum over lists, not deduplicated.")
    pending: list[str] = Field(description=PENDING_DESCRIPTION)


# Subscribe and unsubscribe events; null when the metric is missing or could not be read.
# (No docstrings on output models: pydantic would send them to the model on every turn.)
class GrowthCounts(OutputModel):
    subscribed: int | None
    unsubscribed: int | None
    net: int | None


class ChannelGrowth(OutputModel):
    list: GrowthCounts
    email: GrowthCounts
    sms: GrowthCounts


class ListGrowthParams(WindowParams):
    pass


class ListGrowthResult(OutputModel):
    growth: ChannelGrowth


class ListGrowthByListParams(WindowParams):
    pass


class ListGrowthRow(OutputModel):
    list_id: str | None = Field(description="Null when no current list (or more than one) has this name.")
    name: UntrustedText | None
    subscribed: int | None
    unsubscribed: int | None
    net: int | None


class ListGrowthByListResult(OutputModel):
    lists: list[ListGrowthRow]
    list_count: int
    totals: GrowthCounts


class ListBreakdownParams(WindowParams):
    pass


class ListBreakdownRow(OutputModel):
    list_id: str
    name: UntrustedText | None
    opt_in_process: str | None
    profile_count: int | None
    subscribed: int | None
    unsubscribed: int | None
    net: int | None


class BreakdownTotals(OutputModel):
    profile_count: int
    subscribed: int | None
    unsubscribed: int | None
    net: int | None


class ListBreakdownResult(OutputModel):
    lists: list[ListBreakdownRow]
    list_count: int
    totals: BreakdownTotals
    pending: list[str] = Field(description=PENDING_DESCRIPTION)

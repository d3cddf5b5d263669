"""Segments: current sizes, and membership change over time from Klaviyo's segment reports."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.common import AccountParams, KlaviyoId, OutputModel, WindowParams
from klaviyo_analytics.schemas.lists import PENDING_DESCRIPTION, ResumeToken


class SegmentsParams(AccountParams):
    segment_id: KlaviyoId | None = Field(None, description="Only this segment.")
    resume: ResumeToken | None = None


class SegmentRow(OutputModel):
    segment_id: str
    name: UntrustedText | None
    profile_count: int | None = Field(description="Current members; null if pending or the lookup failed.")
    is_active: bool | None
    is_processing: bool | None
    is_starred: bool | None
    created: str | None
    updated: str | None


class SegmentsResult(OutputModel):
    segments: list[SegmentRow]
    segment_count: int
    pending: list[str] = Field(description=PENDING_DESCRIPTION)


class SegmentGrowthParams(WindowParams):
    segment_id: KlaviyoId | None = Field(None, description="Only this segment.")
    interval: Literal["daily", "weekly", "monthly"] = "weekly"


class SegmentGrowthTotals(OutputModel):
    added: int
    removed: int
    net: int
    start_total: int | None = Field(description="Members when the window starts.")
    end_total: int | None = Field(description="Members when the window (or the fetched part) ends.")


class SegmentGrowthRow(OutputModel):
    segment_id: str
    name: UntrustedText | None
    date_times: list[str] = Field(description="Bucket starts; index i of every array belongs to date_times[i].")
    members_added: list[int]
    members_removed: list[int]
    net_members_changed: list[int]
    total_members: list[int] = Field(description="Members at the end of each bucket.")
    totals: SegmentGrowthTotals


class SegmentGrowthResult(OutputModel):
    segments: list[SegmentGrowthRow]
    segment_count: int
    interval: str

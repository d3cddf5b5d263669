from __future__ import annotations

from klaviyo_analytics.schemas.segments import (
    SegmentGrowthParams,
    SegmentGrowthResult,
    SegmentsParams,
    SegmentsResult,
)
from klaviyo_analytics.service.segments import get_segment_growth, get_segments
from klaviyo_analytics.tools.spec import ToolSpec
from klaviyo_analytics.tools.warmable import over_common_windows

TOOLS = (
    ToolSpec(
        name="klaviyo_get_segments",
        title="Segments and sizes",
        description=(
            "Segments with current size (profile_count) and status, or one segment. Sizes are rate-limited: "
            "pending ones come on later calls (resume)."
        ),
        params=SegmentsParams,
        result=SegmentsResult,
        handler=get_segments,
        read_only=True,
        scopes=("segments:read",),
        toolset="segments",
        method="GET",
        path="/v1/segments",
        resume_rows=("segments", "segment_id"),
    ),
    ToolSpec(
        name="klaviyo_get_segment_growth",
        title="Segment growth over time",
        description=(
            "Members added, removed and total per day, week or month for each segment (or one) over a window "
            "since June 2023, with totals."
        ),
        params=SegmentGrowthParams,
        result=SegmentGrowthResult,
        handler=get_segment_growth,
        read_only=True,
        scopes=("segments:read",),
        toolset="segments",
        method="POST",
        path="/v1/segments/growth",
        warm=over_common_windows(),
    ),
)

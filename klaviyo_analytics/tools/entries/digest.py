from __future__ import annotations

from klaviyo_analytics.schemas.digest import DigestParams, DigestResult
from klaviyo_analytics.service.digest import get_weekly_digest
from klaviyo_analytics.tools.spec import ToolSpec
from klaviyo_analytics.tools.warmable import once

TOOLS = (
    ToolSpec(
        name="klaviyo_get_weekly_digest",
        title="Weekly digest",
        description=(
            "A readable weekly report of one account (Markdown or HTML, with charts): this week vs last, health "
            "bands, anomalies, revenue split, top campaigns and flows."
        ),
        params=DigestParams,
        result=DigestResult,
        handler=get_weekly_digest,
        read_only=True,
        scopes=("campaigns:read", "flows:read", "metrics:read"),
        toolset="portfolio",
        method="POST",
        path="/v1/digest",
        warm=once(),
    ),
)

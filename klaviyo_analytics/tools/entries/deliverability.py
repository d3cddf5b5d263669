from __future__ import annotations

from klaviyo_analytics.schemas.deliverability import DeliverabilityParams, DeliverabilityResult
from klaviyo_analytics.service.deliverability import get_deliverability
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_get_deliverability",
        title="Deliverability by provider",
        description=(
            "Bounce, spam and unsubscribe rates by inbox provider, email domain and bounce type (account, campaign "
            "or flow; default last 30 days), banded, with the sends behind the worst."
        ),
        params=DeliverabilityParams,
        result=DeliverabilityResult,
        handler=get_deliverability,
        read_only=True,
        scopes=("metrics:read", "campaigns:read", "flows:read"),
        toolset="insights",
        method="POST",
        path="/v1/deliverability",
    ),
)

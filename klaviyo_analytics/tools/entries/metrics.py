from __future__ import annotations

from klaviyo_analytics.schemas.metrics import MetricQueryParams, MetricQueryResult
from klaviyo_analytics.service.metrics import query_metric_aggregates
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_query_metric_aggregates",
        title="Query a metric",
        description=(
            "Count, unique or sum any metric (e.g. 'Placed Order') over time, grouped by up to 2 dimensions, "
            "when no other tool fits."
        ),
        params=MetricQueryParams,
        result=MetricQueryResult,
        handler=query_metric_aggregates,
        read_only=True,
        scopes=("metrics:read",),
        toolset="metrics",
        method="POST",
        path="/v1/metrics/aggregates",
    ),
)

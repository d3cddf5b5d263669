from __future__ import annotations

from klaviyo_analytics.schemas.forms import FormPerformanceParams, FormPerformanceResult
from klaviyo_analytics.service.forms import get_form_performance
from klaviyo_analytics.tools.spec import ToolSpec
from klaviyo_analytics.tools.warmable import over_common_windows

TOOLS = (
    ToolSpec(
        name="klaviyo_get_form_performance",
        title="Signup form performance",
        description=("Signup forms by form and version: views, submits, submit rate, list growth, A/B readout."),
        params=FormPerformanceParams,
        result=FormPerformanceResult,
        handler=get_form_performance,
        read_only=True,
        scopes=("forms:read", "metrics:read"),
        toolset="forms",
        method="POST",
        path="/v1/forms/performance",
        warm=over_common_windows(),
    ),
)

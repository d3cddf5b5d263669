from __future__ import annotations

from klaviyo_analytics.schemas.forms import FormPerformanceParams, FormPerformanceResult
from klaviyo_analytics.service.forms import get_form_performance
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_get_form_performance",
        title="Signup form performance",
        description=(
            "Per signup form and version: views, submits, submit rate, the list growth it produced and an A/B "
            "readout; optional series by interval. 'How are my signup forms converting?'"
        ),
        params=FormPerformanceParams,
        result=FormPerformanceResult,
        handler=get_form_performance,
        read_only=True,
        scopes=("forms:read", "metrics:read"),
        toolset="forms",
        method="POST",
        path="/v1/forms/performance",
    ),
)

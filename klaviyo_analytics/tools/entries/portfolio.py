from __future__ import annotations

from klaviyo_analytics.schemas.portfolio import PortfolioParams, PortfolioResult
from klaviyo_analytics.service.portfolio import get_portfolio
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_get_portfolio",
        title="Portfolio of accounts",
        description=(
            "For agencies: every account you may see in one view — revenue, email share, top mover, worst health "
            "band, anomalies; unfinished accounts listed as pending."
        ),
        params=PortfolioParams,
        result=PortfolioResult,
        handler=get_portfolio,
        read_only=True,
        scopes=("campaigns:read", "flows:read", "metrics:read"),
        toolset="portfolio",
        method="POST",
        path="/v1/portfolio",
    ),
)

"""Inputs and outputs of the portfolio tool: one summary row per account the caller may see."""

from __future__ import annotations

from pydantic import Field

from klaviyo_analytics.rules.timeframes import Preset
from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.anomalies import Anomaly
from klaviyo_analytics.schemas.common import OutputModel, PeriodOut, StrictModel


class PortfolioParams(StrictModel):
    timeframe: Preset = "last_7_days"


class WorstBand(OutputModel):
    band: str
    rate: str
    entity: str
    id: str
    name: UntrustedText | None


class AccountSummary(OutputModel):
    """One account; what it could not finish is null here and named in the result's ``pending``."""

    account: str
    revenue: float | None
    campaign_revenue: float | None
    flow_revenue: float | None
    email_share: float | None
    worst_health: WorstBand | None
    top_mover: Anomaly | None
    anomaly_count: int | None


class PortfolioResult(OutputModel):
    comparison: str
    current_period: PeriodOut
    prior_period: PeriodOut
    accounts: list[AccountSummary]
    pending: list[str] = Field(description="'account: part (why)' not finished in time or failed; [] when complete.")

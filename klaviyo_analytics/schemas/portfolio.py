"""Inputs and outputs of the portfolio tool: one summary row per account the caller may see."""

from __future__ import annotations

from pydantic import Field

from klaviyo_analytics.rules.timeframes import Preset
from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.anomalies import Anomaly
from klaviyo_analytics.schemas.common import MoneyAnswer, OutputModel, PeriodOut, StrictModel


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
    currency: str | None  # ISO 4217: this row's money (null: Klaviyo did not say)
    revenue: float | None
    campaign_revenue: float | None
    flow_revenue: float | None
    email_share: float | None
    worst_health: WorstBand | None
    top_mover: Anomaly | None
    anomaly_count: int | None


class CurrencyTotal(OutputModel):
    currency: str = Field(description="ISO 4217; 'unknown' for accounts whose currency could not be read.")
    revenue: float
    accounts: list[str]
    # Set on the one converted total: the configured rates used (units of ``currency`` per unit).
    converted_with: dict[str, float] | None = None


class PortfolioResult(MoneyAnswer):
    comparison: str
    current_period: PeriodOut
    prior_period: PeriodOut
    accounts: list[AccountSummary]
    # Revenue per currency, never summed across currencies; then, only with rates the user set in
    # KLAVIYO_MCP_CURRENCY_RATES, one total converted with them (``converted_with``).
    totals: list[CurrencyTotal] = Field(default_factory=list)
    pending: list[str] = Field(description="'account: part (why)' not finished in time or failed; [] when complete.")

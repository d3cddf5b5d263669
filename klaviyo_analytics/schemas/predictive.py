"""Inputs and outputs of the predictive-analytics distribution tool."""

from __future__ import annotations

from pydantic import Field

from klaviyo_analytics.schemas.common import AccountParams, KlaviyoId, MoneyAnswer, OutputModel


class PredictiveParams(AccountParams):
    list_id: KlaviyoId | None = None
    segment_id: KlaviyoId | None = None
    max_profiles: int = Field(1000, ge=1, le=5000, description="Read at most this many (a sample beyond).")


class Distribution(OutputModel):
    count: int
    mean: float | None
    p10: float | None
    p25: float | None
    median: float | None
    p75: float | None
    p90: float | None


class PredictiveResult(MoneyAnswer):
    audience: dict[str, str]
    profiles_read: int
    sampled: bool
    with_predictions: int
    predicted_clv: Distribution
    churn_probability: Distribution
    churn_risk: dict[str, int]
    days_to_next_order: Distribution
    overdue: int

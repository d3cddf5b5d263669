"""Models of klaviyo_find_anomalies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from klaviyo_analytics.rules.comparisons import CompareTo
from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.common import Entity, MoneyAnswer, OutputModel, PeriodOut, WindowParams


class AnomalyParams(WindowParams):
    entity: Entity = "flow"
    compare_to: CompareTo | None = None
    threshold: float = Field(0.3, gt=0, description="Relative change, 0.3 = 30%.")
    min_delivered: int = Field(100, ge=0, description="Volume floor (deliveries).")


class Anomaly(OutputModel):
    kind: Literal["stopped_sending", "stopped_converting", "change"]
    scope: Literal["account_total", "flow"] = Field(
        "flow", description="account_total: all of the account's flows (or campaigns) together."
    )
    id: str | None = Field(description="The flow; null for the account's totals.")
    name: UntrustedText | None
    metric: str
    current: int | float | None
    prior: int | float | None
    pct_change: float | None
    current_volume: int | None = Field(None, description="Deliveries (a rate's trials) or the count itself.")
    prior_volume: int | None = None
    test: Literal["two_proportion", "poisson", "zero_events"] | None = Field(
        None, description="two_proportion: rates; poisson: counts; zero_events: none where some were sure."
    )
    p_value: float | None = Field(None, description="Chance of a change this large from noise alone.")
    impact: float | None = Field(
        None, description="Revenue gained (+) or lost (−) by the change, in the answer's currency (impact_basis)."
    )
    impact_basis: str | None = None


class AnomalyResult(MoneyAnswer):
    comparison: str
    current_period: PeriodOut
    prior_period: PeriodOut
    anomalies: list[Anomaly]
    checked: int
    suppressed: int = Field(0, description="Changes past the threshold left out: too little volume or not significant.")

"""Models of klaviyo_compare_periods."""

from __future__ import annotations

from pydantic import Field

from klaviyo_analytics.rules.bands import BandsSource
from klaviyo_analytics.rules.comparisons import CompareTo
from klaviyo_analytics.schemas.common import (
    CalendarDate,
    Entity,
    KlaviyoId,
    MoneyAnswer,
    OutputModel,
    PeriodOut,
    WindowParams,
)


class CompareParams(WindowParams):
    entity: Entity
    # The rules per preset are in the tool's description and docs/numbers-and-comparisons.md (comparisons.py).
    compare_to: CompareTo | None = None
    prior_start_date: CalendarDate | None = Field(None, description="Prior window start (with prior_end_date).")
    prior_end_date: CalendarDate | None = Field(None, description="Prior window end (instead of compare_to).")
    entity_id: KlaviyoId | None = Field(None, description="Compare only this campaign or flow id.")


class Delta(OutputModel):
    absolute: int | float | None
    pct_change: float | None


class CompareResult(MoneyAnswer):
    entity: Entity
    comparison: str  # the rule that chose prior_period, e.g. previous_calendar_month
    current_period: PeriodOut
    prior_period: PeriodOut
    current_totals: dict[str, int | float | None]
    prior_totals: dict[str, int | float | None]
    deltas: dict[str, Delta]
    not_applicable: dict[str, str]
    current_health: dict[str, str]
    prior_health: dict[str, str]
    health_bands: BandsSource
    current_entity_count: int
    prior_entity_count: int

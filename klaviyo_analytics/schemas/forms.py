"""Inputs and outputs of the signup-form tool (klaviyo_get_form_performance)."""

from __future__ import annotations

from pydantic import Field

from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.common import KlaviyoId, OutputModel, WindowParams
from klaviyo_analytics.schemas.trends import Interval


class FormPerformanceParams(WindowParams):
    form_id: KlaviyoId | None = None
    interval: Interval | None = None  # adds a series per form; the window must fit the interval


class FormCounts(OutputModel):
    views: int = Field(description="Form views (viewed_form).")
    unique_views: int = Field(description="Unique viewers (viewed_form_uniques).")
    submits: int
    submit_rate: float | None = Field(description="submits / unique_views, 0-1; null without viewers.")
    closes: int = Field(description="Times the form was closed (closed_form).")


class FormVersionRow(FormCounts):
    form_version_id: str
    variation_name: UntrustedText | None
    form_type: str | None
    status: str | None


class AbReadout(OutputModel):
    test: str = Field(description="The significance test used.")
    p_value: float | None
    significant: bool
    leader: str | None = Field(description="The version with the higher submit rate when significant.")
    verdict: str


class FormRow(FormCounts):
    form_id: str
    name: UntrustedText | None
    status: str | None
    ab_test: bool | None
    list_growth: int | None = Field(
        description="New list subscriptions this form produced in the window (Subscribed to List by form_id)."
    )
    versions: list[FormVersionRow]
    ab_result: AbReadout | None = None


class FormSeries(OutputModel):
    form_id: str
    name: UntrustedText | None
    views: list[int]
    submits: list[int]
    submit_rate: list[float | None]


class FormPerformanceResult(OutputModel):
    forms: list[FormRow]
    form_count: int
    totals: FormCounts
    list_growth_total: int | None
    benchmark: str  # whether a cited benchmark exists for these rates
    interval: str | None = None  # the series interval, when a series was asked for
    date_times: list[str] | None = None
    series: list[FormSeries] | None = None

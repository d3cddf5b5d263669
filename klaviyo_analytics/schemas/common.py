"""Shared building blocks of tool inputs and outputs."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from klaviyo_analytics.rules.timeframes import Preset

# Constraints kept out of tools/list (its size costs context on every turn) but stated in the REST
# contract: ``ToolSpec.contract_schema`` merges them into the field's schema, ``input_schema`` drops them.
CONTRACT_KEY = "x-contract"


def contract(**constraints: Any) -> Any:
    """``Field`` metadata carrying JSON-schema constraints for the REST contract only."""
    return Field(json_schema_extra={CONTRACT_KEY: constraints})


def matching(pattern: str, rule: str) -> AfterValidator:
    """A format check enforced on input but kept out of tools/list (see :func:`full_pattern` for
    the REST contract); the error states the rule when it matters."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {rule}")
        return value

    return AfterValidator(check)


def full_pattern(pattern: str) -> Any:
    return contract(pattern=f"^(?:{pattern})$")


_KLAVIYO_ID = r"[A-Za-z0-9]{1,64}"
# Klaviyo ids are alphanumeric; checking them here keeps path characters out of URLs.
KlaviyoId = Annotated[str, matching(_KLAVIYO_ID, "a Klaviyo id: 1-64 letters and digits"), full_pattern(_KLAVIYO_ID)]


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_RULE = "a calendar date as YYYY-MM-DD (e.g. 2026-01-31)"


def _calendar_date(value: Any) -> date:
    """YYYY-MM-DD only: pydantic's date also takes datetimes with offsets ("…T00:00:00+14:00"),
    "2026-01-01 00:00" and Unix timestamps (as numbers or strings), each a different day somewhere."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # in-process callers
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"must be {DATE_RULE}: {exc}") from None
    raise ValueError(f"must be {DATE_RULE}")


# The window bounds (timeframes.EARLIEST_DATE..LATEST_DATE, 2012-01-01..2100-12-31) as a pattern: each
# month's days, and 29 February in leap years only (2100 is not one), so the contract says exactly
# which strings are dates here.
_YEAR = r"(?:201[2-9]|20[2-9]\d|2100)"
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))"
)
_LEAP = r"20(?:1[26]|[2468][048]|[3579][26])"
DATE_PATTERN = rf"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP}-02-29)$"
CalendarDate = Annotated[date, BeforeValidator(_calendar_date), contract(pattern=DATE_PATTERN, format=None)]


# Words a marketer uses for one of our metrics: accepted wherever a metric name is, and read as it.
METRIC_ALIASES = {"revenue": "conversion_value"}


def one_of(allowed: tuple[str, ...], what: str, aliases: dict[str, str] | None = None) -> Any:
    """A string restricted to ``allowed``, checked on input but not spelled out in the schema:
    long enums cost context on every turn, and the error lists the choices when it matters.
    ``aliases`` are other words accepted for an allowed value (and listed in the enum)."""
    words = {k: v for k, v in (aliases or {}).items() if v in allowed}

    def check(value: str) -> str:
        value = words.get(value, value)
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")
        return value

    return Annotated[str, AfterValidator(check), contract(enum=[*allowed, *words])]


_ACCOUNT = r"[a-z0-9][a-z0-9_-]{0,63}"
AccountName = Annotated[
    str,
    matching(_ACCOUNT, "an account name from accounts.toml: lowercase letters, digits, - and _"),
    full_pattern(_ACCOUNT),
    # Not described per tool (tools/list bytes): the server instructions say it once.
]


class StrictModel(BaseModel):
    """Inputs refuse unknown fields, so a typo is an error and not a silently ignored option."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OutputModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class AccountParams(StrictModel):
    account: AccountName | None = None


class WindowParams(AccountParams):
    # Dates are inclusive and go in pairs; the errors explain the rules when they are broken.
    start_date: CalendarDate | None = None
    end_date: CalendarDate | None = None
    timeframe: Preset | None = None


class PeriodOut(OutputModel):
    start_date: str
    end_date: str


class MoneyAnswer(OutputModel):
    """An answer with money in it: run_tool states the currency of every figure in
    ``metadata.currency`` (the account's preferred currency)."""


class Metadata(OutputModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    account: str | None
    period: PeriodOut | None
    revision: str
    latency_ms: float | None
    # In the metadata, declared once here: every tool's tools/list entry shows metadata as one
    # ``object``, so the currency costs no bytes per tool. Present on money answers only.
    currency: str | None = Field(
        None,
        exclude_if=lambda value: value is None,
        description="ISO 4217 code of every money figure in data (the account's preferred currency).",
    )


DataT = TypeVar("DataT", bound=BaseModel)


class Envelope(OutputModel, Generic[DataT]):
    """What every tool returns, over MCP and REST alike."""

    data: DataT
    metadata: Metadata
    warnings: list[str]


class ErrorBody(OutputModel):
    code: str
    message: str
    details: dict[str, Any]


# Which kind of object a comparison, anomaly or series reads.
Entity = Literal["campaign", "flow"]


class PerformanceStats(OutputModel):
    sent: int = Field(description="Recipients.")
    delivered: int
    opens: int = Field(description="Unique opens.")
    open_rate: float | None
    clicks: int = Field(description="Unique clicks.")
    click_rate: float | None
    click_to_open_rate: float | None
    bounces: int
    bounce_rate: float | None
    unsubscribes: int = Field(description="Unique unsubscribes.")
    unsubscribe_rate: float | None
    spam_complaints: int
    spam_complaint_rate: float | None
    conversions: int
    unique_conversions: int
    conversion_rate: float | None
    conversion_value: float
    revenue_per_recipient: float | None
    not_applicable: dict[str, str] = Field(description="Null rates that do not apply (SMS has no opens), and why.")
    health: dict[str, str] = Field(description="Klaviyo's band per email rate (see health_bands for the source).")

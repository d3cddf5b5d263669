"""Shared building blocks of tool inputs and outputs."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from klaviyo_analytics.timeframes import Preset


def matching(pattern: str, rule: str) -> AfterValidator:
    """A format check enforced on input but kept out of the JSON schema (tools/list size);
    the error states the rule when it matters."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {rule}")
        return value

    return AfterValidator(check)


# Klaviyo ids are alphanumeric; checking them here keeps path characters out of URLs.
KlaviyoId = Annotated[str, matching(r"[A-Za-z0-9]{1,64}", "a Klaviyo id: 1-64 letters and digits")]


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


CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]


def one_of(allowed: tuple[str, ...], what: str) -> Any:
    """A string restricted to ``allowed``, checked on input but not spelled out in the schema:
    long enums cost context on every turn, and the error lists the choices when it matters."""

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")
        return value

    return Annotated[str, AfterValidator(check)]


AccountName = Annotated[
    str,
    matching(r"[a-z0-9][a-z0-9_-]{0,63}", "an account name from accounts.toml: lowercase letters, digits, - and _"),
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


class Metadata(OutputModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    account: str | None
    period: PeriodOut | None
    revision: str
    latency_ms: float | None


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

"""Shared building blocks of tool inputs and outputs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from klaviyo_analytics.timeframes import Preset

# Klaviyo ids are alphanumeric; checking them here keeps path characters out of URLs.
KlaviyoId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,64}$"), Field(description="A Klaviyo id (letters and digits).")
]
AccountName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$"),
    Field(description="Account name from accounts.toml; optional when only one account is configured."),
]


class StrictModel(BaseModel):
    """Inputs refuse unknown fields, so a typo is an error and not a silently ignored option."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OutputModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class AccountParams(StrictModel):
    account: AccountName | None = None


class WindowParams(AccountParams):
    start_date: date | None = Field(None, description="Inclusive start, YYYY-MM-DD (with end_date).")
    end_date: date | None = Field(None, description="Inclusive end, YYYY-MM-DD (with start_date).")
    timeframe: Preset | None = Field(None, description="A preset window instead of start_date/end_date.")


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

"""Input and output of the weekly digest tool."""

from __future__ import annotations

from typing import Literal

from klaviyo_analytics.schemas.common import AccountParams, MoneyAnswer


class DigestParams(AccountParams):
    format: Literal["md", "html"] = "md"


class DigestResult(MoneyAnswer):
    account: str
    format: str
    # The report, line by line (joined with newlines it is the file): product text quoting names the
    # tools' output models cleaned, escaped for the format and cut to NAME_CHARS.
    lines: list[str]
    missing: dict[str, str]

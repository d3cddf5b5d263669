"""Input and output of the weekly digest tool."""

from __future__ import annotations

from typing import Literal

from klaviyo_analytics.schemas.common import AccountParams, OutputModel


class DigestParams(AccountParams):
    format: Literal["md", "html"] = "md"


class DigestResult(OutputModel):
    account: str
    format: str
    content: str  # product text; the names in it were cleaned by the tools' output models and are escaped
    missing: dict[str, str]

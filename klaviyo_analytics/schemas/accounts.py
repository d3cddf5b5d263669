from __future__ import annotations

from klaviyo_analytics.schemas.common import OutputModel, StrictModel


class ListAccountsParams(StrictModel):
    pass


class AccountOut(OutputModel):
    name: str
    label: str
    is_default: bool


class ListAccountsResult(OutputModel):
    accounts: list[AccountOut]

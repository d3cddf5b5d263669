"""klaviyo_list_accounts: the configured accounts, by name and label (never keys)."""

from __future__ import annotations

from klaviyo_analytics.schemas.accounts import AccountOut, ListAccountsParams, ListAccountsResult
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult


def list_accounts(svc: KlaviyoService, params: ListAccountsParams, ctx: CallContext) -> ToolResult[ListAccountsResult]:
    default = svc.registry.default
    accounts = [
        AccountOut(name=a.slug, label=a.label, is_default=default is not None and a.slug == default.slug)
        for a in sorted(svc.registry.accounts.values(), key=lambda a: a.slug)
    ]
    return ToolResult(ListAccountsResult(accounts=accounts))

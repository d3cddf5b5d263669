from __future__ import annotations

from klaviyo_analytics.schemas.accounts import ListAccountsParams, ListAccountsResult
from klaviyo_analytics.service.accounts import list_accounts
from klaviyo_analytics.tools.spec import ToolSpec

TOOLS = (
    ToolSpec(
        name="klaviyo_list_accounts",
        title="List Klaviyo accounts",
        description=(
            "List the Klaviyo accounts you can query (name, label). Call first if the user has several "
            "and did not say which."
        ),
        params=ListAccountsParams,
        result=ListAccountsResult,
        handler=list_accounts,
        read_only=True,
        scopes=(),
        toolset="accounts",
        method="GET",
        path="/v1/accounts",
    ),
)

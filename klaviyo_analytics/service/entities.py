"""Telling "this id had nothing in the window" from "there is no such id".

A values report selected down to one campaign or flow id returns no rows both when the
entity did nothing in the window and when the id is wrong. Only the empty case pays one
``GET /api/{campaigns|flows}/{id}``: a 404 becomes ``NOT_FOUND`` (as the flow-structure tool
answers), an existing entity makes the empty answer say why it is empty.
"""

from __future__ import annotations

from klaviyo_analytics.errors import NotFoundError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.timeframes import Period
from klaviyo_analytics.service.core import CallContext, KlaviyoService

PATHS = {"campaign": "/api/campaigns/{id}", "flow": "/api/flows/{id}", "form": "/api/forms/{id}"}
# The tool that lists an entity's ids, named in the NOT_FOUND error.
LISTED_BY = {"campaign": "klaviyo_get_campaigns", "flow": "klaviyo_get_flows", "form": "klaviyo_get_form_performance"}
# An entity's existence does not change from one question to the next.
EXISTS_TTL_SECONDS = 3600.0


def ensure_exists(
    svc: KlaviyoService, account: Account, entity: str, entity_id: str, ctx: CallContext, *, field: str
) -> None:
    """Raise NOT_FOUND (naming the field and id) when ``entity_id`` is not an id of this account."""
    path = PATHS[entity].format(id=entity_id)
    try:
        svc.client.get(
            account, path, {f"fields[{entity}]": "name"}, deadline=ctx.deadline, cache_ttl=EXISTS_TTL_SECONDS
        )
    except NotFoundError:
        raise NotFoundError(
            f"no {entity} with id {entity_id!r} in account {account.slug!r}; list them with {LISTED_BY[entity]}",
            field=field,
            id=entity_id,
        ) from None


def empty_reason(entity: str, period: Period, entity_id: str | None = None) -> str:
    """Why a performance answer has no rows, in one sentence a reader can act on."""
    window = f"{period.start}..{period.end}"
    if entity_id:
        return f"The {entity} {entity_id} exists but sent nothing in {window}; try a wider window."
    return f"No {entity} sent anything in {window}, so there is nothing to report; try a wider window."

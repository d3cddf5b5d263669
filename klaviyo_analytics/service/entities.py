"""Telling "this id had nothing in the window" from "there is no such id", before a report is spent.

A values report selected down to one campaign or flow id returns no rows both when the entity
did nothing in the window and when the id is wrong. So every id a read tool's arguments name
(``ID_FIELDS``) is checked with the cheapest call there is — one ``GET /api/<kind>s/{id}`` for
its name, cached for an hour — before the call's first report request (``KlaviyoService.
report_post``, the one door of values, series and metric-aggregate reports). A 404 is
``NOT_FOUND`` naming the field, even when the report budget is spent and a report would have
had to wait; an id that exists but did nothing makes the empty answer say why it is empty.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from klaviyo_analytics.errors import NotFoundError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.timeframes import Period
from klaviyo_analytics.service.core import CallContext, KlaviyoService

PATHS = {
    "campaign": "/api/campaigns/{id}",
    "flow": "/api/flows/{id}",
    "list": "/api/lists/{id}",
    "segment": "/api/segments/{id}",
    "metric": "/api/metrics/{id}",
    "form": "/api/forms/{id}",
}
# Argument name -> the kind of entity it names (a function of the arguments where another field says).
ID_FIELDS: dict[str, str | Callable[[BaseModel], str | None]] = {
    "campaign": "campaign",
    "flow": "flow",
    "flow_id": "flow",
    "list_id": "list",
    "segment_id": "segment",
    "metric_id": "metric",
    "form_id": "form",
    "entity_id": lambda params: getattr(params, "entity", None),
}
# Where a caller finds the right ids.
LISTED_BY = {
    "campaign": "list them with klaviyo_get_campaigns",
    "flow": "list them with klaviyo_get_flows",
    "list": "list them with klaviyo_get_list_health",
    "segment": "list them with klaviyo_get_segments",
    "form": "list them with klaviyo_get_form_performance",
}
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
            f"no {entity} with id {entity_id!r} in account {account.slug!r}; {LISTED_BY.get(entity, '')}".rstrip("; "),
            field=field,
            id=entity_id,
        ) from None


def named_ids(params: BaseModel) -> list[tuple[str, str, str]]:
    """``(kind, id, field)`` for each entity id in a tool's validated arguments."""
    found = []
    for name, kind_of in ID_FIELDS.items():
        value = getattr(params, name, None)
        kind = kind_of(params) if callable(kind_of) else kind_of
        if isinstance(value, str) and value and kind in PATHS:
            found.append((kind, value, name))
    return found


def check_named_ids(svc: KlaviyoService, account: Account, ctx: CallContext) -> None:
    """Check (once per call) that every id the caller named exists in ``account``."""
    pending, ctx.named_ids[:] = list(ctx.named_ids), []
    for kind, entity_id, field in pending:
        ensure_exists(svc, account, kind, entity_id, ctx, field=field)


def empty_reason(entity: str, period: Period, entity_id: str | None = None) -> str:
    """Why a performance answer has no rows, in one sentence a reader can act on."""
    window = f"{period.start}..{period.end}"
    if entity_id:
        return f"The {entity} {entity_id} exists but sent nothing in {window}; try a wider window."
    return f"No {entity} sent anything in {window}, so there is nothing to report; try a wider window."

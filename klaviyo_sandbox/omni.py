"""Revision 2026-10-15: the operations whose shapes changed, and the ones it adds, for campaigns.

``operations()`` is the 2026-07-15 table (spec.py) with the campaign operations replaced and the
campaign-audience and campaign-variation reads added; ``HANDLERS`` the handlers that differ.
The source is klaviyo-api 25.0.0 (revision 2026-10-15), openapi_client/api/campaigns_api.py:
each method's query parameters, page-size bounds and the filter fields its docstring allows; its
``_response_types_map`` names the models omni_resources.py follows. What the SDK does not carry
(enums of ``fields[...]``/``include``, the body enums) is accepted as given; docs/sandbox.md lists it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

from klaviyo_sandbox import spec
from klaviyo_sandbox.handlers import Context, Reply, collection, lookup, same_id, single
from klaviyo_sandbox.jsonapi import invalid, not_found
from klaviyo_sandbox.models import Campaign, CampaignMessage
from klaviyo_sandbox.omni_resources import AUDIENCE_SUFFIX, FROM_OMNI_STRATEGY, VARIATION_SUFFIX
from klaviyo_sandbox.writes import create_campaign_records, message_definition_update

REVISION = "2026-10-15"
_ATTR = "/data/attributes"
_DATES = {"operators": {"single": ["greater-or-equal", "greater-than", "less-or-equal", "less-than"]}}
# get_campaigns' filter at 2026-10-15 (its docstring: "Allowed field(s)/operator(s)"): no channel filter, none required.
_CAMPAIGN_FILTERS = {
    "id": {"operators": {"list": ["any"]}, "value": {"type": "string"}},
    "name": {"operators": {"single": ["contains"]}, "value": {"type": "string"}},
    "archived": {"operators": {"single": ["equals"]}, "value": {"type": "boolean"}},
    "builder": {"operators": {"single": ["equals"]}, "value": {"type": "string"}},
    "created_at": {**_DATES, "value": {"type": "string", "format": "date-time"}},
    "updated_at": {**_DATES, "value": {"type": "string", "format": "date-time"}},
}


def _body(kind: str, required: list[str], types: dict[str, str], id_required: bool) -> dict[str, Any]:
    return {"array": False, "type": kind, "id_required": id_required, "required": required, "types": types, "enums": {}}


def _query(*names: str) -> dict[str, list[str] | None]:
    return dict.fromkeys(names)


def _op(base: spec.Operation, operation_id: str, method: str, path: str, **changes: Any) -> spec.Operation:
    return replace(
        base,
        operation_id=operation_id,
        method=method,
        path=path,
        pattern=spec.path_pattern(path),
        filters=changes.pop("filters", None),
        filter_required=False,
        cursor=changes.pop("cursor", False),
        page_size=changes.pop("page_size", None),
        fixed_page=None,
        body=changes.pop("body", None),
        **changes,
    )


@cache
def operations() -> dict[str, spec.Operation]:
    base = spec.operations()
    read, write = base["get_campaign"], base["update_campaign"]
    fields = ("fields[campaign]", "fields[campaign-audience]", "fields[campaign-message]", "fields[tag]")
    definition = {"definition": "object"}
    changed = [
        _op(read, "get_campaigns", "GET", "/api/campaigns", query=_query(*fields, "filter", "include", "sort"),
            filters=_CAMPAIGN_FILTERS, cursor=True, page_size=spec.PageSize(100, 1, 100)),
        _op(read, "get_campaign", "GET", "/api/campaigns/{id}", query=_query(*fields, "include")),
        _op(write, "create_campaign", "POST", "/api/campaigns", query=_query("fields[campaign]"),
            success_status=201,
            body=_body("campaign", ["definition"], {**definition, "messages": "array", "audiences": "array"}, False)),
        _op(write, "update_campaign", "PATCH", "/api/campaigns/{id}", query=_query("fields[campaign]"),
            body=_body("campaign", ["definition"], definition, True)),
        _op(read, "get_messages_for_campaign", "GET", "/api/campaigns/{id}/campaign-messages",
            query=_query("fields[campaign-message]", "fields[campaign]", "include"), cursor=True),
        _op(read, "get_campaign_message", "GET", "/api/campaign-messages/{id}",
            query=_query("fields[campaign-message]", "fields[campaign-variation]", "fields[campaign]", "include")),
        _op(write, "update_campaign_message", "PATCH", "/api/campaign-messages/{id}",
            query=_query("fields[campaign-message]"), body=_body("campaign-message", [], definition, True)),
        _op(read, "get_campaign_variation", "GET", "/api/campaign-variations/{id}",
            query=_query("fields[campaign-message]", "fields[campaign-variation]", "fields[image]",
                         "fields[translation]", "include")),
        _op(read, "get_variations_for_campaign_message", "GET", "/api/campaign-messages/{id}/campaign-variations",
            query=_query("fields[campaign-variation]")),
        _op(write, "update_campaign_variation", "PATCH", "/api/campaign-variations/{id}",
            query=_query("fields[campaign-variation]"),
            body=_body("campaign-variation", ["definition"], definition, True)),
        _op(read, "get_campaign_audience", "GET", "/api/campaign-audiences/{id}",
            query=_query("fields[campaign-audience]", "fields[campaign-message]", "fields[campaign]", "include")),
        _op(read, "get_campaign_audiences_for_campaign", "GET", "/api/campaigns/{id}/campaign-audiences",
            query=_query("fields[campaign-audience]")),
        _op(read, "get_audience_for_campaign_message", "GET", "/api/campaign-messages/{id}/campaign-audience",
            query=_query("fields[campaign-audience]")),
    ]  # fmt: skip
    return {**base, **{op.operation_id: op for op in changed}}


def _by_suffix(ctx: Context, suffix: str, table: dict[str, Any], kind: str) -> Any:
    ident = ctx.params["id"]
    owner = ident.removesuffix(suffix)
    if owner == ident or owner not in table:
        raise not_found(kind, ident)
    return table[owner]


def _definition(ctx: Context) -> dict[str, Any]:
    value = ctx.data.get("attributes", {}).get("definition")
    if not isinstance(value, dict):
        raise invalid("'definition' must be an object.", pointer=f"{_ATTR}/definition")
    return value


def _apply_campaign(campaign: Campaign, definition: dict[str, Any]) -> None:
    for key in ("builder", "color", "description"):
        if definition.get(key) is not None:
            campaign.extra[key] = definition[key]
    if definition.get("name") is not None:
        campaign.name = str(definition["name"])
    if definition.get("archived") is not None:
        campaign.archived = bool(definition["archived"])
    settings = definition.get("send_settings") or {}
    strategy = settings.get("send_strategy")
    if strategy is not None:
        if strategy not in FROM_OMNI_STRATEGY:
            allowed = ", ".join(FROM_OMNI_STRATEGY)
            raise invalid(
                f"send_strategy must be one of {allowed}.", pointer=f"{_ATTR}/definition/send_settings/send_strategy"
            )
        method, local = FROM_OMNI_STRATEGY[strategy]
        options = {**(campaign.send_strategy.get("options") or {}), "is_local": local}
        campaign.send_strategy = {**campaign.send_strategy, "method": method, "options": options}
    for key in ("send_timezone", "exit_condition_enabled", "exit_condition_conversion_metric_id"):
        if settings.get(key) is not None:
            campaign.extra[key] = settings[key]


def create_campaign(ctx: Context) -> Reply:
    """An omnicampaign: its definition, inline audiences (lists/segments by id) and messages with
    variations; a message without variations gets a default email one."""
    attrs = ctx.data["attributes"]
    definition = _definition(ctx)
    audiences = attrs.get("audiences") or []
    if not audiences:
        raise invalid("At least one audience is required.", pointer=f"{_ATTR}/audiences")
    first = audiences[0] if isinstance(audiences[0], dict) else {}
    messages = attrs.get("messages") or [{"audience_temporary_id": first.get("temporary_id")}]
    temporary = {a.get("temporary_id") for a in audiences if isinstance(a, dict)}
    contents = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("audience_temporary_id") not in temporary:
            raise invalid("Each message's audience_temporary_id must name an audience.",
                          pointer=f"{_ATTR}/messages/{i}/audience_temporary_id")  # fmt: skip
        variations = message.get("variations") or [{"definition": {"details": {"channel": "email"}}}]
        details = dict((variations[0].get("definition") or {}).get("details") or {"channel": "email"})
        details.setdefault("channel", "email")
        if message.get("name"):
            details["label"] = message["name"]
        contents.append(details)
    name = definition.get("name")
    if not isinstance(name, str) or not name:
        raise invalid("'definition.name' is required.", pointer=f"{_ATTR}/definition/name")
    audience = {"included": first.get("included") or [], "excluded": first.get("excluded") or []}
    at = f"{_ATTR}/messages"
    pointers = (at, lambda i: f"{at}/{i}/variations/0/definition/details")
    campaign = create_campaign_records(ctx, name, audience, contents, pointers)
    _apply_campaign(campaign, definition)
    if first.get("name"):
        campaign.extra["audience_name"] = first["name"]
    return single(ctx, "campaign", campaign, 201)


def update_campaign(ctx: Context) -> Reply:
    campaign = lookup(ctx, ctx.account.campaigns, "campaign")
    same_id(ctx)
    _apply_campaign(campaign, _definition(ctx))
    campaign.updated_at = ctx.now
    ctx.store.record(ctx.slug, "campaign_updates", id=campaign.id, attributes=ctx.data.get("attributes"))
    return single(ctx, "campaign", campaign)


def update_campaign_message(ctx: Context) -> Reply:
    message: CampaignMessage = lookup(ctx, ctx.account.messages, "campaign-message")
    same_id(ctx)
    definition = ctx.data.get("attributes", {}).get("definition") or {}
    campaign = ctx.account.campaigns[message.campaign_id]
    if definition.get("name"):
        message.definition = {**message.definition, "label": definition["name"]}
    tracking = definition.get("tracking_options") or {}
    if tracking:
        current = dict(campaign.tracking_options or {})
        if tracking.get("is_add_utm") is not None:
            current["add_tracking_params"] = tracking["is_add_utm"]
        for key in ("is_tracking_clicks", "is_tracking_opens"):
            if tracking.get(key) is not None:
                current[key] = tracking[key]
        campaign.tracking_options = current
    message.updated_at = ctx.now
    ctx.store.record(ctx.slug, "campaign_message_updates", id=message.id, attributes=ctx.data.get("attributes"))
    return single(ctx, "campaign-message", message)


def update_campaign_variation(ctx: Context) -> Reply:
    message: CampaignMessage = _by_suffix(ctx, VARIATION_SUFFIX, ctx.account.messages, "campaign-variation")
    if ctx.data.get("id") != ctx.params["id"]:
        raise invalid("The id in the body does not match the id in the URL.", pointer="/data/id")
    definition = _definition(ctx)
    details = definition.get("details") or {}
    if not isinstance(details, dict):
        raise invalid("'definition.details' must be an object.", pointer=f"{_ATTR}/definition/details")
    raw = {"channel": message.channel, **details}
    message.definition = message_definition_update(message, raw, f"{_ATTR}/definition/details")
    if definition.get("name"):
        message.definition["label"] = definition["name"]
    message.updated_at = ctx.now
    ctx.store.record(ctx.slug, "campaign_message_updates", id=message.id, attributes=ctx.data.get("attributes"))
    return single(ctx, "campaign-variation", message)


def _message(ctx: Context) -> CampaignMessage:
    found: CampaignMessage = lookup(ctx, ctx.account.messages, "campaign-message")
    return found


HANDLERS: dict[str, Callable[[Context], Reply]] = {
    "create_campaign": create_campaign,
    "update_campaign": update_campaign,
    "update_campaign_message": update_campaign_message,
    "update_campaign_variation": update_campaign_variation,
    "get_campaign_variation": lambda ctx: single(
        ctx, "campaign-variation", _by_suffix(ctx, VARIATION_SUFFIX, ctx.account.messages, "campaign-variation")
    ),
    "get_variations_for_campaign_message": lambda ctx: collection(ctx, "campaign-variation", [_message(ctx)]),
    "get_campaign_audience": lambda ctx: single(
        ctx, "campaign-audience", _by_suffix(ctx, AUDIENCE_SUFFIX, ctx.account.campaigns, "campaign-audience")
    ),
    "get_campaign_audiences_for_campaign": lambda ctx: collection(
        ctx, "campaign-audience", [lookup(ctx, ctx.account.campaigns, "campaign")]
    ),
    "get_audience_for_campaign_message": lambda ctx: single(
        ctx, "campaign-audience", ctx.account.campaigns[_message(ctx).campaign_id]
    ),
}

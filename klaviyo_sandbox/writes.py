"""Write operations on campaigns, messages, templates and flows (audiences.py has the rest).

Each change lands on the account's objects (visible to later reads) and in the store's records
(``Sandbox.state()``). Choices where the spec is silent: PATCHing a message merges ``content``
(omitted fields are kept); a body ``id`` that differs from the path is a 409; a send job is
recorded and answered 202 but sends nothing and leaves the campaign a draft.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klaviyo_sandbox.audiences import (
    add_profiles,
    create_list,
    create_or_update_profile,
    create_profile,
    create_segment,
    remove_profiles,
    update_profile,
)
from klaviyo_sandbox.flowdefs import create_flow, delete_flow, update_flow_action
from klaviyo_sandbox.handlers import Context, Reply, lookup, same_id, single
from klaviyo_sandbox.jsonapi import invalid
from klaviyo_sandbox.models import Campaign, CampaignMessage, Template
from klaviyo_sandbox.resources import legacy_message_resource

_EMAIL_CONTENT = ("subject", "preview_text", "from_email", "from_label", "reply_to_email", "cc_email", "bcc_email")
_RENDER = {"shorten_links": True, "add_org_prefix": True, "add_info_link": True, "add_opt_out_language": False}
_ATTR = "/data/attributes"


def _definition(raw: Any, pointer: str, label: str, current: dict[str, Any] | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("channel") not in ("email", "sms", "mobile_push"):
        raise invalid("definition.channel must be email, sms or mobile_push.", pointer=f"{pointer}/channel")
    channel = raw["channel"]
    if current is not None and current["channel"] != channel:
        raise invalid("A message cannot change channel.", pointer=f"{pointer}/channel")
    base = dict(current or {"channel": channel})
    content = raw.get("content") or {}
    if not isinstance(content, dict):
        raise invalid("definition.content must be an object.", pointer=f"{pointer}/content")
    if channel == "email":
        base["label"] = raw.get("label") or base.get("label") or label
        base["content"] = dict.fromkeys(_EMAIL_CONTENT) | dict(base.get("content") or {}) | content
    elif channel == "sms":
        base["content"] = {"body": None, "media_url": None} | dict(base.get("content") or {}) | content
        base["render_options"] = (
            _RENDER | dict(base.get("render_options") or {}) | dict(raw.get("render_options") or {})
        )
    else:
        base |= raw
    return base


def create_campaign(ctx: Context) -> Reply:
    attrs = ctx.data["attributes"]
    items = (attrs.get("campaign-messages") or {}).get("data")
    if not isinstance(items, list) or not items:
        raise invalid("campaign-messages.data must hold one message.", pointer=f"{_ATTR}/campaign-messages/data")
    raws = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get("type") != "campaign-message":
            raise invalid(
                "Each message must be of type campaign-message.", pointer=f"{_ATTR}/campaign-messages/data/{i}/type"
            )
        raws.append((item.get("attributes") or {}).get("definition"))
    at = f"{_ATTR}/campaign-messages"
    pointers = (at, lambda i: f"{at}/data/{i}/attributes/definition")
    campaign = create_campaign_records(ctx, attrs["name"], attrs.get("audiences") or {}, raws, pointers)
    return single(ctx, "campaign", campaign, 201)


def create_campaign_records(
    ctx: Context,
    name: Any,
    audiences: dict[str, Any],
    raws: list[Any],
    pointers: tuple[str, Callable[[int], str]],
) -> Campaign:
    """A draft campaign and its messages (one revision's body or the other's, already unpacked);
    ``pointers``: where the messages are in the body, and where message i's definition is."""
    acc, attrs = ctx.account, ctx.data["attributes"]
    included = audiences.get("included")
    if not isinstance(included, list) or not included:
        raise invalid(
            "audiences.included must list at least one list or segment id.", pointer=f"{_ATTR}/audiences/included"
        )
    for ident in [*included, *(audiences.get("excluded") or [])]:
        if ident not in acc.lists and ident not in acc.segments:
            raise invalid(f"List or segment {ident} does not exist.", pointer=f"{_ATTR}/audiences")
    definitions = [_definition(raw, pointers[1](i), str(name)) for i, raw in enumerate(raws)]
    channels = {d["channel"] for d in definitions}
    if len(channels) != 1:
        raise invalid("All messages of a campaign share one channel.", pointer=pointers[0])
    channel = channels.pop()
    cid = acc.ids.ulid(ctx.now)
    tracking = attrs.get("tracking_options") or (
        {"add_tracking_params": False, "custom_tracking_params": None}
        if channel == "sms"
        else {
            "add_tracking_params": False,
            "custom_tracking_params": None,
            "is_tracking_clicks": True,
            "is_tracking_opens": True,
        }
    )
    message_ids = []
    for definition in definitions:
        mid = acc.ids.ulid(ctx.now)
        acc.messages[mid] = CampaignMessage(mid, cid, definition, [], None, ctx.now, ctx.now)
        message_ids.append(mid)
    campaign = Campaign(
        id=cid,
        name=str(name),
        status="Draft",
        archived=False,
        audiences={"included": included, "excluded": audiences.get("excluded") or []},
        send_options=attrs.get("send_options") or {"use_smart_sending": True},
        tracking_options=tracking,
        send_strategy=attrs.get("send_strategy") or {"method": "immediate"},
        created_at=ctx.now,
        updated_at=ctx.now,
        scheduled_at=None,
        send_time=None,
        message_ids=message_ids,
        channel=channel,
    )
    acc.campaigns[cid] = campaign
    ctx.store.record(ctx.slug, "campaigns", id=cid, name=campaign.name, channel=channel, message_ids=message_ids)
    return campaign


def message_definition_update(message: CampaignMessage, raw: Any, pointer: str) -> dict[str, Any]:
    """A message's definition with ``raw`` merged in (its channel cannot change)."""
    return _definition(raw, pointer, message.label, message.definition)


def update_campaign(ctx: Context) -> Reply:
    campaign = lookup(ctx, ctx.account.campaigns, "campaign")
    same_id(ctx)
    if campaign.status not in ("Draft", "Scheduled"):
        raise invalid(f"A campaign with status '{campaign.status}' cannot be changed.", pointer="/data")
    attrs = ctx.data.get("attributes") or {}
    for key in ("name", "send_options", "tracking_options", "send_strategy"):
        if attrs.get(key) is not None:
            setattr(campaign, key, attrs[key])
    if attrs.get("audiences") is not None:
        campaign.audiences = {**campaign.audiences, **attrs["audiences"]}
    campaign.updated_at = ctx.now
    ctx.store.record(ctx.slug, "campaign_updates", id=campaign.id, attributes=attrs)
    return single(ctx, "campaign", campaign)


def update_campaign_message(ctx: Context) -> Reply:
    message = lookup(ctx, ctx.account.messages, "campaign-message")
    same_id(ctx)
    attrs = ctx.data.get("attributes") or {}
    if attrs.get("definition") is not None:
        message.definition = _definition(attrs["definition"], f"{_ATTR}/definition", message.label, message.definition)
    message.updated_at = ctx.now
    ctx.store.record(ctx.slug, "campaign_message_updates", id=message.id, attributes=attrs)
    return single(ctx, "campaign-message", message)


def assign_template(ctx: Context) -> Reply:
    acc = ctx.account
    message = lookup(ctx, acc.messages, "campaign-message", ctx.data["id"])
    template_id = (((ctx.data.get("relationships") or {}).get("template") or {}).get("data") or {}).get("id")
    if not isinstance(template_id, str):
        raise invalid("relationships.template.data.id is required.", pointer="/data/relationships/template/data/id")
    source = lookup(ctx, acc.templates, "template", template_id)
    copy_id = acc.ids.ulid(ctx.now)
    acc.templates[copy_id] = Template(
        copy_id,
        f"{source.name} (copy)",
        source.editor_type,
        source.html,
        source.text,
        source.amp,
        source.definition,
        ctx.now,
        ctx.now,
    )
    message.template_id, message.updated_at = copy_id, ctx.now
    ctx.store.record(
        ctx.slug,
        "templates",
        id=copy_id,
        name=acc.templates[copy_id].name,
        copied_from=source.id,
        message_id=message.id,
    )
    return 200, {"data": legacy_message_resource(acc, message, ctx.base), "links": {"self": ctx.url}}


def send_campaign(ctx: Context) -> Reply:
    campaign = lookup(ctx, ctx.account.campaigns, "campaign", ctx.data["id"])
    job = {
        "type": "campaign-send-job",
        "id": campaign.id,
        "attributes": {"status": "queued"},
        "links": {"self": f"{ctx.base}/api/campaign-send-jobs/{campaign.id}/"},
    }
    return 202, {"data": job, "links": {"self": ctx.url}}


def update_flow(ctx: Context) -> Reply:
    flow = lookup(ctx, ctx.account.flows, "flow")
    same_id(ctx)
    status = ctx.data["attributes"]["status"]
    if status not in ("draft", "manual", "live"):
        raise invalid("status must be one of 'draft', 'manual' or 'live'.", pointer=f"{_ATTR}/status")
    previous, flow.status, flow.updated = flow.status, status, ctx.now
    for aid in flow.action_ids:
        data = ctx.account.actions[aid].definition.get("data") or {}
        if "status" in data:
            data["status"] = status
    ctx.store.record(ctx.slug, "flow_status_changes", flow_id=flow.id, previous=previous, status=status)
    return single(ctx, "flow", flow)


def create_template(ctx: Context) -> Reply:
    attrs = ctx.data["attributes"]
    editor = attrs["editor_type"]
    if editor not in ("CODE", "USER_DRAGGABLE", "SYSTEM_DRAGGABLE"):
        raise invalid("editor_type must be CODE, USER_DRAGGABLE or SYSTEM_DRAGGABLE.", pointer=f"{_ATTR}/editor_type")
    if editor == "SYSTEM_DRAGGABLE":
        if attrs.get("definition") is None:
            raise invalid("definition is required for SYSTEM_DRAGGABLE.", pointer=f"{_ATTR}/definition")
        for key in ("html", "amp"):
            if attrs.get(key) is not None:
                raise invalid(f"{key} is not allowed for SYSTEM_DRAGGABLE.", pointer=f"{_ATTR}/{key}")
    elif not attrs.get("html"):
        raise invalid(f"html is required for {editor}.", pointer=f"{_ATTR}/html")
    if len(ctx.account.templates) >= 1000:
        raise invalid("The account already has 1,000 templates.", pointer="/data")
    tid = ctx.account.ids.ulid(ctx.now)
    definition = attrs.get("definition") if editor == "SYSTEM_DRAGGABLE" else None
    # A drag-and-drop template's html is rendered from its definition; the sandbox renders an empty page.
    html = attrs.get("html") if editor != "SYSTEM_DRAGGABLE" else "<html><body></body></html>"
    template = Template(
        tid,
        str(attrs["name"]),
        editor,
        html,
        attrs.get("text"),
        attrs.get("amp"),
        definition,
        ctx.now,
        ctx.now,
    )
    ctx.account.templates[tid] = template
    ctx.store.record(ctx.slug, "templates", id=tid, name=template.name, editor_type=editor)
    return single(ctx, "template", template, 201)


WRITE_HANDLERS: dict[str, Callable[[Context], Reply]] = {
    "create_campaign": create_campaign,
    "update_campaign": update_campaign,
    "update_campaign_message": update_campaign_message,
    "assign_template_to_campaign_message": assign_template,
    "send_campaign": send_campaign,
    "create_flow": create_flow,
    "delete_flow": delete_flow,
    "update_flow_action": update_flow_action,
    "update_flow": update_flow,
    "create_list": create_list,
    "add_profiles_to_list": add_profiles,
    "remove_profiles_from_list": remove_profiles,
    "create_profile": create_profile,
    "update_profile": update_profile,
    "create_or_update_profile": create_or_update_profile,
    "create_segment": create_segment,
    "create_template": create_template,
}

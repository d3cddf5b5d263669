"""``POST /api/campaign-clone`` and ``POST /api/template-clone``: copies under new ids.

A cloned campaign is always a Draft, whatever its source's status: its messages (definition and
template, the template itself copied as Klaviyo's assign-template does) and its audiences,
send and tracking options are copied; its send strategy is reset to ``immediate`` and it has no
send time, so nothing is scheduled. Without ``new_name`` the clone is named "Copy of <name>"
(the spec is silent on the default: the sandbox's choice). Both copies are recorded for
``Sandbox.state()``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from klaviyo_sandbox.handlers import Context, Reply, lookup, single
from klaviyo_sandbox.jsonapi import invalid
from klaviyo_sandbox.models import Campaign, CampaignMessage, Template

TEMPLATE_LIMIT = 1000  # "cloning will fail" at 1,000 templates (the operation's description)


def _name(raw: object, fallback: str, pointer: str) -> str:
    if raw is None:
        return f"Copy of {fallback}"
    if not isinstance(raw, str) or not raw.strip():
        raise invalid("The name must be a non-empty string.", pointer=pointer)
    return raw


def _copy_template(ctx: Context, source: Template, name: str) -> Template:
    if len(ctx.account.templates) >= TEMPLATE_LIMIT:
        raise invalid("The account already has 1,000 templates.", pointer="/data")
    tid = ctx.account.ids.ulid(ctx.now)
    template = Template(
        tid, name, source.editor_type, source.html, source.text, source.amp,
        copy.deepcopy(source.definition), ctx.now, ctx.now,
    )  # fmt: skip
    ctx.account.templates[tid] = template
    ctx.store.record(ctx.slug, "templates", id=tid, name=name, copied_from=source.id)
    return template


def create_campaign_clone(ctx: Context) -> Reply:
    acc = ctx.account
    source: Campaign = lookup(ctx, acc.campaigns, "campaign", str(ctx.data.get("id")))
    name = _name((ctx.data.get("attributes") or {}).get("new_name"), source.name, "/data/attributes/new_name")
    cid = acc.ids.ulid(ctx.now)
    message_ids = []
    for mid in source.message_ids:
        original = acc.messages[mid]
        template_id = None
        if original.template_id in acc.templates:
            template_id = _copy_template(ctx, acc.templates[original.template_id], f"{name} (template)").id
        new_mid = acc.ids.ulid(ctx.now)
        definition = copy.deepcopy(original.definition)
        if definition.get("label"):
            definition["label"] = name
        acc.messages[new_mid] = CampaignMessage(new_mid, cid, definition, [], template_id, ctx.now, ctx.now)
        message_ids.append(new_mid)
    clone = Campaign(
        id=cid,
        name=name,
        status="Draft",
        archived=False,
        audiences=copy.deepcopy(source.audiences),
        send_options=copy.deepcopy(source.send_options),
        tracking_options=copy.deepcopy(source.tracking_options),
        send_strategy={"method": "immediate"},
        created_at=ctx.now,
        updated_at=ctx.now,
        scheduled_at=None,
        send_time=None,
        message_ids=message_ids,
        channel=source.channel,
    )
    acc.campaigns[cid] = clone
    ctx.store.record(
        ctx.slug, "campaigns", id=cid, name=name, channel=clone.channel, message_ids=message_ids, cloned_from=source.id
    )
    return single(ctx, "campaign", clone, 201)


def clone_template(ctx: Context) -> Reply:
    source: Template = lookup(ctx, ctx.account.templates, "template", str(ctx.data.get("id")))
    name = _name((ctx.data.get("attributes") or {}).get("name"), source.name, "/data/attributes/name")
    return single(ctx, "template", _copy_template(ctx, source, name), 201)


CLONE_HANDLERS: dict[str, Callable[[Context], Reply]] = {
    "create_campaign_clone": create_campaign_clone,
    "clone_template": clone_template,
}

"""klaviyo_propose_clone_campaign: "do last week's campaign again" as a gated draft.

The plan copies a campaign with Klaviyo's ``POST /api/campaign-clone`` (which copies its messages
and their templates), then, only for what the person asked to change, PATCHes the clone's
audience and its message's subject. The clone is a Draft and the plan never touches its send
strategy, so nothing is scheduled or sent. What the approver sees is a diff against the source:
each field that changes (before → after) and what stays as it was.

Channel rules, checked before anything is stored: only email and SMS campaigns are cloned (the
product drafts nothing else); an SMS campaign has no subject to change; a new audience that is a
list must hold people the channel can reach (its first members are sampled: none with an email
address, or none with a phone number for SMS, and the clone is refused naming ``audience_id``).
"""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.actions import recipes
from klaviyo_analytics.actions.plans import by_name, ref, step
from klaviyo_analytics.actions.proposing import Reader, exists_warning, shown_name, store
from klaviyo_analytics.errors import InvalidArgumentError, NotFoundError
from klaviyo_analytics.rules import untrusted
from klaviyo_analytics.schemas.actions import ActionView, CloneCampaignParams
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult

CLONABLE = ("email", "sms")
REACH_FIELD = {"email": "email", "sms": "phone_number"}
SAMPLE = 20  # members read to judge whether a list can take the channel
CLONE_STEP = "clone_campaign"


def _source(reader: Reader, campaign_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the campaign, its first message) — NOT_FOUND naming campaign_id."""
    try:
        doc = reader.service.client.get(
            reader.account, f"/api/campaigns/{campaign_id}", {"include": "campaign-messages"},
            deadline=reader.ctx.deadline, cache_ttl=0,
        )  # fmt: skip
    except NotFoundError:
        raise NotFoundError(
            f"no campaign with id {campaign_id!r} in this account; list them with klaviyo_get_campaigns.",
            field="campaign_id",
        ) from None
    messages = [i for i in doc.get("included") or [] if i.get("type") == "campaign-message"]
    if not messages:
        raise InvalidArgumentError(
            f"the campaign {campaign_id} has no message to copy.", field="campaign_id", rule="account_state"
        )
    return doc["data"], messages[0]


def _audience(reader: Reader, audience_id: str, channel: str) -> tuple[str, list[str]]:
    """How the audience is shown, and warnings; refused when a list sample cannot take the channel."""
    found = reader.one(f"/api/lists/{audience_id}")
    if found is None:
        segment = reader.one(f"/api/segments/{audience_id}")
        if segment is None:
            raise NotFoundError(f"no list or segment with id {audience_id!r} in this account.", field="audience_id")
        note = f"Only the segment's members who can receive {channel} will get it; a segment's reach is not checked."
        return f"the segment {shown_name(segment)!r} ({audience_id})", [note]
    label = f"the list {shown_name(found)!r} ({audience_id})"
    key = REACH_FIELD[channel]
    query = {"fields[profile]": "email,phone_number", "page[size]": str(SAMPLE)}
    doc = reader.service.client.get(
        reader.account, f"/api/lists/{audience_id}/profiles", query, deadline=reader.ctx.deadline, cache_ttl=0
    )
    members = [i.get("attributes") or {} for i in doc.get("data") or []]
    if members and not any(m.get(key) for m in members):
        raise InvalidArgumentError(
            f"{label} cannot take an {channel} campaign: none of its first {len(members)} members has "
            f"{'an email address' if channel == 'email' else 'a phone number'}. Choose another audience.",
            field="audience_id",
            rule="channel",
        )
    return label, []


def _audiences_text(reader: Reader, ids: list[str]) -> str:
    shown = []
    for ident in ids:
        found = reader.one(f"/api/lists/{ident}") or reader.one(f"/api/segments/{ident}")
        shown.append(f"{shown_name(found)!r} ({ident})" if found else ident)
    return ", ".join(shown) or "none"


def propose_clone_campaign(
    service: KlaviyoService, params: CloneCampaignParams, ctx: CallContext
) -> ToolResult[ActionView]:
    account = service.account(params.account)
    reader = Reader(service, account, ctx)
    campaign, message = _source(reader, params.campaign_id)
    attrs = campaign.get("attributes") or {}
    definition = (message.get("attributes") or {}).get("definition") or {}
    channel = str(definition.get("channel") or "")
    if channel not in CLONABLE:
        raise InvalidArgumentError(
            f"the campaign is a {channel or 'channel-less'} campaign; only email and SMS campaigns are cloned here.",
            field="campaign_id", rule="channel", allowed=list(CLONABLE),
        )  # fmt: skip
    if channel == "sms" and params.subject is not None:
        raise InvalidArgumentError(
            "an SMS campaign has no subject; leave subject out.", field="subject", rule="channel"
        )
    source_name = str(attrs.get("name") or params.campaign_id)
    name = params.new_name or f"{source_name} (copy)"
    warnings = ["The clone is created as a Draft: nothing is sent or scheduled. Review and send it in Klaviyo."]
    audiences = attrs.get("audiences") or {}
    before_audience = _audiences_text(reader, list(audiences.get("included") or []))
    changes = [f"name {untrusted.clean(source_name)!r} → {name!r}"]
    audience_label = None
    if params.audience_id is not None:
        audience_label, notes = _audience(reader, params.audience_id, channel)
        warnings += notes
        changes.append(f"audience {before_audience} → {audience_label} (exclusions kept)")
    content = definition.get("content") or {}
    if params.subject is not None:
        changes.append(f"subject {untrusted.clean(str(content.get('subject') or ''))!r} → {params.subject!r}")
    stays = ["message content and template", "sender", "send and tracking options"]
    if params.audience_id is None:
        stays.insert(0, f"audience {before_audience}")
    if params.subject is None and channel == "email":
        stays.insert(0, "subject")
    warnings.append("Changes from the source: " + "; ".join(changes) + ".")
    warnings.append("Stays as in the source: " + ", ".join(stays) + ".")
    existing = reader.same_name("/api/campaigns", name, {"filter": recipes.campaign_filter(name, channel)})
    warnings += exists_warning("campaign", name, existing)
    plan = clone_plan(params, name, channel, existing, audience_label, source_name)
    target = f" for {audience_label}" if audience_label else ""
    summary = (
        f"Clone the {channel} campaign {untrusted.clean(source_name)!r} ({params.campaign_id}) as the Draft "
        f"{name!r}{target}. It stays a Draft; nothing is sent."
    )
    return store(service, account, "clone_campaign", params, plan, summary, warnings, ctx)


def clone_plan(
    params: CloneCampaignParams, name: str, channel: str, existing: list[str], audience_label: str | None,
    source_name: str,
) -> list[dict[str, Any]]:  # fmt: skip
    """Clone, then the asked changes only; the clone's ids come from the clone step's answer."""
    check = by_name(
        "/api/campaigns", name, "created_at", existing,
        {"filter": recipes.campaign_filter(name, channel), "include": "campaign-messages"},
    )  # fmt: skip
    body = {"data": {"type": "campaign", "id": params.campaign_id, "attributes": {"new_name": name}}}
    plan = [
        step(
            CLONE_STEP, f"Copy the campaign {untrusted.clean(source_name)!r} as the Draft {name!r}", "POST",
            "/api/campaign-clone", body=body,
            returns={"id": "id", "message_id": "relationships.campaign-messages.data.0.id"}, check=check,
        )
    ]  # fmt: skip
    clone = ref(CLONE_STEP)
    if params.audience_id is not None:
        audience_body = {
            "data": {"type": "campaign", "id": clone, "attributes": {"audiences": {"included": [params.audience_id]}}}
        }
        plan.append(
            step(
                "set_audience", f"Send the clone to {audience_label}", "PATCH", "/api/campaigns/{campaign_id}",
                path_params={"campaign_id": clone}, body=audience_body,
                returns={"included": "attributes.audiences.included"},
            )
        )  # fmt: skip
    if params.subject is not None:
        message = ref(CLONE_STEP, "message_id")
        definition = {"channel": channel, "content": {"subject": params.subject}}
        plan.append(
            step(
                "set_subject", f"Set the clone's subject to {params.subject!r}", "PATCH",
                "/api/campaign-messages/{message_id}", path_params={"message_id": message},
                body={"data": {"type": "campaign-message", "id": message, "attributes": {"definition": definition}}},
                returns={"subject": "attributes.definition.content.subject"},
            )
        )  # fmt: skip
    return plan

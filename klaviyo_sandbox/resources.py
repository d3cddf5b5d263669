"""JSON:API resource objects for every type the sandbox serves, and the field views filters use.

Serializers return full attributes; handlers apply ``fields[...]`` afterwards. ``extras`` are
the requested ``additional-fields`` values. Datetimes are ISO 8601 with an offset.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from klaviyo_sandbox.activity_resources import ACTIVITY_SERIALIZERS, tag_ids
from klaviyo_sandbox.consent import profile_subscriptions
from klaviyo_sandbox.flowgen import flow_definition
from klaviyo_sandbox.forms import form_resource, form_version_resource
from klaviyo_sandbox.jsonapi import relationship, resource
from klaviyo_sandbox.models import (
    Account,
    Campaign,
    CampaignMessage,
    Flow,
    FlowAction,
    FlowMessage,
    ListRec,
    Metric,
    Profile,
    SegmentRec,
    Template,
)
from klaviyo_sandbox.predictive import predictive_analytics
from klaviyo_sandbox.triggers import triggered_by

Serializer = Callable[[Account, Any, str, frozenset[str]], dict[str, Any]]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def account_resource(account: Account, base: str) -> dict[str, Any]:
    seed = account.seed
    contact = {
        "default_sender_name": seed.label,
        "default_sender_email": f"hello@{seed.domain}",
        "website_url": f"https://www.{seed.domain}",
        "organization_name": seed.label,
        "street_address": {
            "address1": "1 Sandbox Way",
            "address2": None,
            "city": "Springfield",
            "region": None,
            "country": "US" if seed.currency == "USD" else "GB",
            "zip": "00000",
        },
    }
    attributes = {
        "test_account": False,
        "contact_information": contact,
        "industry": seed.industry,
        "timezone": seed.timezone,
        "preferred_currency": seed.currency,
        "public_api_key": seed.public_key,
        "locale": seed.locale,
    }
    return resource("account", account.id, attributes, base, f"/api/accounts/{account.id}/")


def _flow_triggers(account: Account, kind: str, ident: str) -> list[str]:
    return [f.id for f in triggered_by(account, kind, ident)]


def metric_resource(account: Account, m: Metric, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {"name": m.name, "created": iso(m.created), "updated": iso(m.updated), "integration": m.integration}
    path = f"/api/metrics/{m.id}"
    rels = {"flow-triggers": relationship("flow", _flow_triggers(account, "metric", m.id), base, path, "flow-triggers")}
    return resource("metric", m.id, attributes, base, f"{path}/", rels)


def list_profile_count(account: Account, rec: ListRec) -> int:
    total = rec.initial_count + len(rec.members)
    for name, sign in (("Subscribed to List", 1), ("Unsubscribed from List", -1)):
        series = account.events.find(account.metric_id(name), {"List": rec.subscribed_metric_dim})
        if series is not None and rec.subscribed_metric_dim:
            total += sign * series.total()[0]
    return max(0, total)


def segment_profile_count(account: Account, seg: SegmentRec) -> int:
    added = account.events.segment_added.get(seg.id)
    removed = account.events.segment_removed.get(seg.id)
    total = seg.initial_count + (added.total()[0] if added else 0) - (removed.total()[0] if removed else 0)
    return max(0, total)


def _group_rels(account: Account, kind: str, ident: str, base: str, path: str) -> dict[str, Any]:
    return {
        "profiles": relationship("profile", None, base, path, "profiles"),
        "tags": relationship("tag", tag_ids(account, kind, ident), base, path, "tags"),
        "flow-triggers": relationship("flow", _flow_triggers(account, kind, ident), base, path, "flow-triggers"),
    }


def list_resource(account: Account, rec: ListRec, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "name": rec.name,
        "created": iso(rec.created),
        "updated": iso(rec.updated),
        "opt_in_process": rec.opt_in_process,
    }
    if "profile_count" in extras:
        attributes["profile_count"] = list_profile_count(account, rec)
    path = f"/api/lists/{rec.id}"
    return resource("list", rec.id, attributes, base, f"{path}/", _group_rels(account, "list", rec.id, base, path))


def segment_resource(account: Account, seg: SegmentRec, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "name": seg.name,
        "definition": seg.definition,
        "created": iso(seg.created),
        "updated": iso(seg.updated),
        "is_active": seg.is_active,
        "is_processing": seg.is_processing,
        "is_starred": seg.is_starred,
    }
    if "profile_count" in extras:
        attributes["profile_count"] = segment_profile_count(account, seg)
    path = f"/api/segments/{seg.id}"
    return resource(
        "segment", seg.id, attributes, base, f"{path}/", _group_rels(account, "segment", seg.id, base, path)
    )


# A profile without a location: the spec writes ``nullable`` beside a ``$ref`` (OpenAPI 3.0 ignores a
# $ref's siblings, so strict validators refuse null), and Klaviyo sends this object of nulls instead.
EMPTY_LOCATION = dict.fromkeys(
    ("address1", "address2", "city", "country", "latitude", "longitude", "region", "zip", "timezone", "ip")
)


def profile_resource(account: Account, p: Profile, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {**p.attributes, "created": iso(p.created), "updated": iso(p.updated)}
    if attributes.get("location") is None:
        attributes["location"] = dict(EMPTY_LOCATION)
    if "subscriptions" in extras:
        attributes["subscriptions"] = profile_subscriptions(account, p)
    if "predictive_analytics" in extras:
        attributes["predictive_analytics"] = predictive_analytics(account, p)
    path = f"/api/profiles/{p.id}"
    rels = {
        name: relationship(kind, None, base, path, name)
        for name, kind in (
            ("lists", "list"),
            ("segments", "segment"),
            ("push-tokens", "push-token"),
            ("conversations", "conversation"),
        )
    }
    return resource("profile", p.id, attributes, base, f"{path}/", rels)


def template_resource(account: Account, t: Template, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "name": t.name,
        "editor_type": t.editor_type,
        "html": t.html,
        "text": t.text,
        "amp": t.amp,
        "created": iso(t.created),
        "updated": iso(t.updated),
    }
    if "definition" in extras:
        attributes["definition"] = t.definition
    return resource("template", t.id, attributes, base, f"/api/templates/{t.id}/")


def campaign_resource(account: Account, c: Campaign, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {
        "name": c.name,
        "status": c.status,
        "archived": c.archived,
        "audiences": c.audiences,
        "send_options": c.send_options,
        "tracking_options": c.tracking_options,
        "send_strategy": c.send_strategy,
        "created_at": iso(c.created_at),
        "scheduled_at": iso(c.scheduled_at),
        "updated_at": iso(c.updated_at),
        "send_time": iso(c.send_time),
    }
    path = f"/api/campaigns/{c.id}"
    rels = {
        "campaign-messages": relationship("campaign-message", c.message_ids, base, path, "campaign-messages"),
        "tags": relationship("tag", tag_ids(account, "campaign", c.id), base, path, "tags"),
    }
    return resource("campaign", c.id, attributes, base, f"{path}/", rels)


def _message_rels(m: CampaignMessage, base: str, path: str) -> dict[str, Any]:
    return {
        "campaign": relationship("campaign", m.campaign_id, base, path, "campaign"),
        "template": relationship("template", m.template_id, base, path, "template"),
        "image": relationship("image", None, base, path, "image"),
    }


def message_resource(account: Account, m: CampaignMessage, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {
        "definition": m.definition,
        "send_times": m.send_times,
        "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
    }
    path = f"/api/campaign-messages/{m.id}"
    return resource("campaign-message", m.id, attributes, base, f"{path}/", _message_rels(m, base, path))


def legacy_message_resource(account: Account, m: CampaignMessage, base: str) -> dict[str, Any]:
    """The flat pre-``definition`` shape that campaign-message-assign-template still answers with."""
    attributes: dict[str, Any] = {
        "label": m.label or account.campaigns[m.campaign_id].name,
        "channel": m.channel,
        "content": m.definition.get("content") or {},
        "send_times": m.send_times,
        "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
    }
    if "render_options" in m.definition:
        attributes["render_options"] = m.definition["render_options"]
    path = f"/api/campaign-messages/{m.id}"
    rels = _message_rels(m, base, path)
    rels.pop("image")
    return resource("campaign-message", m.id, attributes, base, f"{path}/", rels)


def flow_resource(account: Account, f: Flow, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "name": f.name,
        "status": f.status,
        "archived": f.archived,
        "created": iso(f.created),
        "updated": iso(f.updated),
        "trigger_type": f.trigger_type,
    }
    if "definition" in extras:
        attributes["definition"] = flow_definition(account, f)
    path = f"/api/flows/{f.id}"
    rels = {
        "flow-actions": relationship("flow-action", f.action_ids, base, path, "flow-actions"),
        "tags": relationship("tag", tag_ids(account, "flow", f.id), base, path, "tags"),
    }
    return resource("flow", f.id, attributes, base, f"{path}/", rels)


def action_resource(account: Account, a: FlowAction, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {"created": iso(a.created), "updated": iso(a.updated), "definition": a.definition}
    path = f"/api/flow-actions/{a.id}"
    rels = {
        "flow": relationship("flow", a.flow_id, base, path, "flow"),
        "flow-messages": relationship("flow-message", a.message_ids, base, path, "flow-messages"),
    }
    return resource("flow-action", a.id, attributes, base, f"{path}/", rels)


def flow_message_resource(account: Account, fm: FlowMessage, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {
        "channel": fm.channel,
        "created": iso(fm.created),
        "updated": iso(fm.updated),
        "definition": fm.definition,
    }
    path = f"/api/flow-messages/{fm.id}"
    template = fm.definition.get("template_id")
    rels = {
        "flow-action": relationship("flow-action", fm.action_id, base, path, "flow-action"),
        "template": relationship("template", str(template) if template else None, base, path, "template"),
    }
    return resource("flow-message", fm.id, attributes, base, f"{path}/", rels)


SERIALIZERS: dict[str, Serializer] = {
    "campaign": campaign_resource,
    "campaign-message": message_resource,
    "flow": flow_resource,
    "flow-action": action_resource,
    "flow-message": flow_message_resource,
    "list": list_resource,
    "segment": segment_resource,
    "template": template_resource,
    "profile": profile_resource,
    "metric": metric_resource,
    "form": form_resource,
    "form-version": form_version_resource,
    **ACTIVITY_SERIALIZERS,
}

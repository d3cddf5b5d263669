"""Revision 2026-10-15's campaign shapes ("omnicampaigns"), as klaviyo-api 25.0.0 models them.

At 2026-10-15 a campaign carries a ``definition`` (name, builder, archived, color, description,
send_settings) and relates to campaign-audiences and campaign-messages; a message carries
``created``/``updated`` and a ``definition`` (name, status, tracking_options, send_options, ab_test)
and relates to its audience and its campaign-variations; a variation holds the content
(``definition.details``). Sources, in the klaviyo-api 25.0.0 wheel (openapi_client/models/):
omni_campaign_response_object_resource{,_attributes}.py, campaign_definition.py, send_settings.py,
message_response_object_resource{,_attributes}.py, message_definition.py,
message_tracking_options.py, message_send_options.py, variation_response_object_resource{,_attributes}.py,
variation_definition.py, audience_response_object_resource{,_attributes}.py, audience_definition.py.

The sandbox keeps one record per campaign and message (models.py) and shows it in either
revision's shape: each campaign has one audience (its included/excluded groups), each message one
variation (its content). Their ids are the owner's id with a suffix, so they stay stable.
"""

from __future__ import annotations

from typing import Any

from klaviyo_sandbox.activity_resources import tag_ids
from klaviyo_sandbox.jsonapi import relationship, resource
from klaviyo_sandbox.models import Account, Campaign, CampaignMessage
from klaviyo_sandbox.resources import iso

# 2026-07-15's send_strategy.method -> 2026-10-15's send strategy (MessageSendOptions' enum;
# 'immediate' has no counterpart there: a campaign sent at once is a static send).
TO_OMNI_STRATEGY = {
    "static": "static",
    "immediate": "static",
    "throttled": "throttled",
    "smart_send_time": "send_time_optimization",
}
# 2026-10-15's strategy -> (2026-07-15's method, is_local)
FROM_OMNI_STRATEGY = {
    "static": ("static", False),
    "local_timezone": ("static", True),
    "throttled": ("throttled", False),
    "send_time_optimization": ("smart_send_time", False),
}
# MessageDefinition.status' enum, from 2026-07-15's campaign status.
_STATUS = {"Draft": "draft", "Scheduled": "scheduled", "Sent": "sent", "Variations Sent": "sent"}
AUDIENCE_SUFFIX = "-audience"
VARIATION_SUFFIX = "-variation"


def audience_id(campaign: Campaign) -> str:
    return f"{campaign.id}{AUDIENCE_SUFFIX}"


def variation_id(message: CampaignMessage) -> str:
    return f"{message.id}{VARIATION_SUFFIX}"


def omni_strategy(c: Campaign) -> str:
    method = str(c.send_strategy.get("method") or "static")
    if method == "static" and (c.send_strategy.get("options") or {}).get("is_local"):
        return "local_timezone"
    return TO_OMNI_STRATEGY.get(method, "static")


def message_status(c: Campaign) -> str:
    if c.status.startswith("Cancelled"):
        return "cancelled"
    return _STATUS.get(c.status, "sending")


def campaign_definition(account: Account, c: Campaign) -> dict[str, Any]:
    options = c.send_strategy.get("options") or {}
    local = bool(options.get("is_local"))
    extra = c.extra
    return {
        "name": c.name,
        "builder": extra.get("builder", "wizard"),
        "archived": c.archived,
        "color": extra.get("color"),
        "description": extra.get("description"),
        "send_settings": {
            # Per SendSettings' description: 'UTC' whenever each recipient's local time is used.
            "send_timezone": "UTC" if local else extra.get("send_timezone", account.seed.timezone),
            "send_strategy": omni_strategy(c),
            "send_passed_rltz_immediately": bool(options.get("send_past_recipients_immediately", False)),
            "exit_condition_enabled": bool(extra.get("exit_condition_enabled", False)),
            "exit_condition_conversion_metric_id": extra.get("exit_condition_conversion_metric_id"),
        },
    }


def omni_campaign_resource(account: Account, c: Campaign, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "definition": campaign_definition(account, c),
    }
    path = f"/api/campaigns/{c.id}"
    rels = {
        "campaign-audiences": relationship("campaign-audience", [audience_id(c)], base, path, "campaign-audiences"),
        "campaign-messages": relationship("campaign-message", c.message_ids, base, path, "campaign-messages"),
        "tags": relationship("tag", tag_ids(account, "campaign", c.id), base, path, "tags"),
    }
    return resource("campaign", c.id, attributes, base, f"{path}/", rels)


def message_definition(account: Account, m: CampaignMessage) -> dict[str, Any]:
    c = account.campaigns[m.campaign_id]
    tracking = c.tracking_options or {}
    smart = bool(c.send_options.get("use_smart_sending"))
    return {
        "name": m.label or c.name,
        "status": message_status(c),
        "tracking_options": {
            "is_add_utm": bool(tracking.get("add_tracking_params", False)),
            "is_tracking_clicks": bool(tracking.get("is_tracking_clicks", m.channel != "sms")),
            "is_tracking_opens": bool(tracking.get("is_tracking_opens", m.channel == "email")),
        },
        "send_options": {
            "send_time": iso(c.send_time),
            "send_strategy": omni_strategy(c),
            # Smart Sending skips recipients messaged recently by campaigns (an unconfirmed mapping).
            "throttling_type": "throttle-for-campaigns" if smart else "none",
            "is_ignoring_unsubscribes": False,
        },
        "ab_test": None,
    }


def omni_message_resource(account: Account, m: CampaignMessage, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {
        "created": iso(m.created_at),
        "updated": iso(m.updated_at),
        "definition": message_definition(account, m),
    }
    path = f"/api/campaign-messages/{m.id}"
    campaign = account.campaigns[m.campaign_id]
    rels = {
        "campaign": relationship("campaign", m.campaign_id, base, path, "campaign"),
        "campaign-audience": relationship("campaign-audience", audience_id(campaign), base, path, "campaign-audience"),
        "campaign-variations": relationship("campaign-variation", [variation_id(m)], base, path, "campaign-variations"),
    }
    return resource("campaign-message", m.id, attributes, base, f"{path}/", rels)


def variation_resource(account: Account, m: CampaignMessage, base: str, extras: frozenset[str]) -> dict[str, Any]:
    """A message's one variation; ``m`` is the message (the variation has no record of its own)."""
    details = {k: v for k, v in m.definition.items() if k != "label"}
    attributes = {
        "created": iso(m.created_at),
        "updated": iso(m.updated_at),
        "definition": {"name": m.label or "Variation A", "details": details},
    }
    ident = variation_id(m)
    path = f"/api/campaign-variations/{ident}"
    rels = {
        "campaign-message": relationship("campaign-message", m.id, base, path, "campaign-message"),
        "translation": relationship("translation", None, base, path, "translation"),
        "image": relationship("image", None, base, path, "image"),
    }
    return resource("campaign-variation", ident, attributes, base, f"{path}/", rels)


def audience_resource(account: Account, c: Campaign, base: str, extras: frozenset[str]) -> dict[str, Any]:
    """A campaign's one audience; ``c`` is the campaign."""
    attributes = {
        "created": iso(c.created_at),
        "updated": iso(c.updated_at),
        "definition": {
            "name": c.extra.get("audience_name", "Audience"),
            "included": list(c.audiences.get("included") or []),
            "excluded": list(c.audiences.get("excluded") or []),
            "priority": 1,
        },
    }
    ident = audience_id(c)
    path = f"/api/campaign-audiences/{ident}"
    rels = {
        "campaign": relationship("campaign", c.id, base, path, "campaign"),
        "campaign-messages": relationship("campaign-message", c.message_ids, base, path, "campaign-messages"),
    }
    return resource("campaign-audience", ident, attributes, base, f"{path}/", rels)


OMNI_SERIALIZERS = {
    "campaign": omni_campaign_resource,
    "campaign-message": omni_message_resource,
    "campaign-variation": variation_resource,
    "campaign-audience": audience_resource,
}

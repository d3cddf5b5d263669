"""Webhooks and their topics: GET /api/webhook-topics, GET/POST /api/webhooks, GET/DELETE /api/webhooks/{id}.

Choices where the spec is silent: the topics are a fixed set (the SMS events Klaviyo documents
for system webhooks); a create with an endpoint that is not https, an unknown topic or no topic
is a 400 pointing at it; ``endpoint_url`` is answered as scheme and host only ("truncated for
security", as the spec says) and ``secret_key`` is kept for signing but never answered.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from klaviyo_sandbox.handlers import Context, Reply, lookup
from klaviyo_sandbox.jsonapi import invalid, relationship, resource, sparse
from klaviyo_sandbox.models import Webhook
from klaviyo_sandbox.resources import iso

TOPICS: tuple[str, ...] = (
    "event:klaviyo.sent_sms",
    "event:klaviyo.received_sms",
    "event:klaviyo.clicked_sms",
    "event:klaviyo.failed_to_deliver_sms",
    "event:klaviyo.failed_to_deliver_automated_response_sms",
    "event:klaviyo.subscribed_to_sms",
    "event:klaviyo.unsubscribed_from_sms",
)
_ATTR = "/data/attributes"


def _topic(base: str, topic: str) -> dict[str, Any]:
    return {"type": "webhook-topic", "id": topic, "links": {"self": f"{base}/api/webhook-topics/{topic}/"}}


def _truncated(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _webhook(ctx: Context, hook: Webhook) -> dict[str, Any]:
    attributes = {
        "name": hook.name,
        "description": hook.description,
        "endpoint_url": _truncated(hook.endpoint_url),
        "enabled": hook.enabled,
        "created_at": iso(hook.created),
        "updated_at": iso(hook.updated),
    }
    owner = f"/api/webhooks/{hook.id}"
    rels = {"webhook-topics": relationship("webhook-topic", hook.topics, ctx.base, owner, "webhook-topics")}
    out = resource("webhook", hook.id, attributes, ctx.base, f"{owner}/", rels)
    out["attributes"] = sparse(out["attributes"], ctx.query.fields.get("webhook"))
    return out


def _document(ctx: Context, data: Any, hooks: list[Webhook]) -> dict[str, Any]:
    doc: dict[str, Any] = {"data": data, "links": {"self": ctx.url}}
    if "webhook-topics" in ctx.query.include:
        topics = sorted({t for hook in hooks for t in hook.topics})
        doc["included"] = [_topic(ctx.base, t) for t in topics]
    return doc


def get_webhook_topics(ctx: Context) -> Reply:
    return 200, {"data": [_topic(ctx.base, t) for t in TOPICS], "links": {"self": ctx.url}}


def get_webhooks(ctx: Context) -> Reply:
    hooks = list(ctx.account.webhooks.values())
    return 200, _document(ctx, [_webhook(ctx, h) for h in hooks], hooks)


def get_webhook(ctx: Context) -> Reply:
    hook = lookup(ctx, ctx.account.webhooks, "webhook")
    return 200, _document(ctx, _webhook(ctx, hook), [hook])


def create_webhook(ctx: Context) -> Reply:
    attrs = ctx.data["attributes"]
    url = str(attrs["endpoint_url"])
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise invalid("endpoint_url must be an https URL.", pointer=f"{_ATTR}/endpoint_url")
    if not str(attrs["secret_key"]):
        raise invalid("secret_key must not be empty.", pointer=f"{_ATTR}/secret_key")
    pointer = "/data/relationships/webhook-topics/data"
    linked = ((ctx.data.get("relationships") or {}).get("webhook-topics") or {}).get("data")
    if not isinstance(linked, list) or not linked:
        raise invalid("A webhook needs at least one topic.", pointer=pointer)
    topics: list[str] = []
    for i, item in enumerate(linked):
        topic = item.get("id") if isinstance(item, dict) else None
        if topic not in TOPICS:
            raise invalid(f"Unknown webhook topic {topic!r}.", pointer=f"{pointer}/{i}/id")
        if topic not in topics:
            topics.append(str(topic))
    hook = Webhook(
        ctx.account.ids.ulid(ctx.now), str(attrs["name"]), attrs.get("description"), url, str(attrs["secret_key"]),
        topics, ctx.now, ctx.now,
    )  # fmt: skip
    ctx.account.webhooks[hook.id] = hook
    ctx.store.record(ctx.slug, "webhooks", id=hook.id, name=hook.name, endpoint_url=url, topics=topics)
    return 201, {"data": _webhook(ctx, hook), "links": {"self": ctx.url}}


def delete_webhook(ctx: Context) -> Reply:
    hook = lookup(ctx, ctx.account.webhooks, "webhook")
    del ctx.account.webhooks[hook.id]
    ctx.store.record(ctx.slug, "webhook_deletions", id=hook.id, name=hook.name)
    return 204, None


WEBHOOK_HANDLERS = {
    "get_webhook_topics": get_webhook_topics,
    "get_webhooks": get_webhooks,
    "get_webhook": get_webhook,
    "create_webhook": create_webhook,
    "delete_webhook": delete_webhook,
}

"""klaviyo_get_webhooks: the account's webhook topics and webhooks. Klaviyo never answers a
webhook's secret and truncates its endpoint URL; this answer carries nothing more."""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.schemas.webhooks import WebhookRow, WebhooksParams, WebhooksResult
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult


def topic_ids(svc: KlaviyoService, account: Account, ctx: CallContext) -> list[str]:
    items = svc.client.get_all(account, "/api/webhook-topics", {}, deadline=ctx.deadline, cache_ttl=0)
    return [str(i["id"]) for i in items if isinstance(i, dict) and i.get("id")]


def _row(item: dict[str, Any]) -> WebhookRow:
    attrs = item.get("attributes") or {}
    linked = ((item.get("relationships") or {}).get("webhook-topics") or {}).get("data") or []
    return WebhookRow(
        webhook_id=str(item["id"]),
        name=attrs.get("name"),
        description=attrs.get("description"),
        endpoint_url=attrs.get("endpoint_url"),
        enabled=attrs.get("enabled"),
        topics=[str(t.get("id")) for t in linked if isinstance(t, dict)],
        created_at=attrs.get("created_at"),
    )


def get_webhooks(svc: KlaviyoService, params: WebhooksParams, ctx: CallContext) -> ToolResult[WebhooksResult]:
    account = svc.account(params.account)
    # Uncached: a webhook just created or deleted through an action shows at once.
    items = svc.client.get_all(account, "/api/webhooks", {}, deadline=ctx.deadline, cache_ttl=0)
    rows = [_row(i) for i in items if isinstance(i, dict) and i.get("id")]
    return ToolResult(WebhooksResult(topics=topic_ids(svc, account, ctx), webhooks=rows), account=account.slug)

"""The action tools' handlers (``tools/entries/actions.py``): propose, execute, list and read actions.

Each is the tool's handler by reference; its body lives in ``klaviyo_analytics.actions`` and is
imported on the first call, so the plans, the ledger and the executor stay off the server's start
(most sessions only read).
"""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.schemas.actions import (
    ActionList,
    ActionParams,
    ActionView,
    AddProfilesToListParams,
    CampaignDraftParams,
    CreateListParams,
    CreateWebhookParams,
    DeleteFlowParams,
    DeleteWebhookParams,
    FlowParams,
    ListActionsParams,
    PauseFlowParams,
    SeedDemoProfilesParams,
    SegmentParams,
    UpdateFlowParams,
    WebhookRow,
    WebhooksParams,
    WebhooksResult,
)
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult


def propose_create_list(service: KlaviyoService, params: CreateListParams, ctx: CallContext) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose import propose_create_list as run

    return run(service, params, ctx)


def propose_seed_demo_profiles(
    service: KlaviyoService, params: SeedDemoProfilesParams, ctx: CallContext
) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose import propose_seed_demo_profiles as run

    return run(service, params, ctx)


def propose_add_profiles_to_list(
    service: KlaviyoService, params: AddProfilesToListParams, ctx: CallContext
) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose import propose_add_profiles_to_list as run

    return run(service, params, ctx)


def propose_campaign_draft(
    service: KlaviyoService, params: CampaignDraftParams, ctx: CallContext
) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose import propose_campaign_draft as run

    return run(service, params, ctx)


def propose_segment(service: KlaviyoService, params: SegmentParams, ctx: CallContext) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose import propose_segment as run

    return run(service, params, ctx)


def propose_pause_flow(service: KlaviyoService, params: PauseFlowParams, ctx: CallContext) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose import propose_pause_flow as run

    return run(service, params, ctx)


def propose_flow(service: KlaviyoService, params: FlowParams, ctx: CallContext) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose_flows import propose_flow as run

    return run(service, params, ctx)


def propose_update_flow(service: KlaviyoService, params: UpdateFlowParams, ctx: CallContext) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose_flows import propose_update_flow as run

    return run(service, params, ctx)


def propose_delete_flow(service: KlaviyoService, params: DeleteFlowParams, ctx: CallContext) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose_delete import propose_delete_flow as run

    return run(service, params, ctx)


def propose_create_webhook(
    service: KlaviyoService, params: CreateWebhookParams, ctx: CallContext
) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose_webhooks import propose_create_webhook as run

    return run(service, params, ctx)


def propose_delete_webhook(
    service: KlaviyoService, params: DeleteWebhookParams, ctx: CallContext
) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.propose_webhooks import propose_delete_webhook as run

    return run(service, params, ctx)


def execute_action(service: KlaviyoService, params: ActionParams, ctx: CallContext) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.executor import execute_action as run

    return run(service, params, ctx)


def list_actions(service: KlaviyoService, params: ListActionsParams, ctx: CallContext) -> ToolResult[ActionList]:
    from klaviyo_analytics.actions.audit import list_actions as run

    return run(service, params, ctx)


def get_action(service: KlaviyoService, params: ActionParams, ctx: CallContext) -> ToolResult[ActionView]:
    from klaviyo_analytics.actions.audit import get_action as run

    return run(service, params, ctx)


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

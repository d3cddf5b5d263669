"""The action tools' handlers (``tools/entries/actions.py``): propose, execute, list and read actions.

Each is the tool's handler by reference; its body lives in ``klaviyo_analytics.actions`` and is
imported on the first call, so the plans, the ledger and the executor stay off the server's start
(most sessions only read).
"""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.schemas import actions as models
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult


def propose_create_list(
    service: KlaviyoService, params: models.CreateListParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose import propose_create_list as run

    return run(service, params, ctx)


def propose_seed_demo_profiles(
    service: KlaviyoService, params: models.SeedDemoProfilesParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose import propose_seed_demo_profiles as run

    return run(service, params, ctx)


def propose_add_profiles_to_list(
    service: KlaviyoService, params: models.AddProfilesToListParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose import propose_add_profiles_to_list as run

    return run(service, params, ctx)


def propose_campaign_draft(
    service: KlaviyoService, params: models.CampaignDraftParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose import propose_campaign_draft as run

    return run(service, params, ctx)


def propose_clone_campaign(
    service: KlaviyoService, params: models.CloneCampaignParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose_clone import propose_clone_campaign as run

    return run(service, params, ctx)


def propose_segment(
    service: KlaviyoService, params: models.SegmentParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose import propose_segment as run

    return run(service, params, ctx)


def propose_pause_flow(
    service: KlaviyoService, params: models.PauseFlowParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose import propose_pause_flow as run

    return run(service, params, ctx)


def propose_flow(service: KlaviyoService, params: models.FlowParams, ctx: CallContext) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose_flows import propose_flow as run

    return run(service, params, ctx)


def propose_update_flow(
    service: KlaviyoService, params: models.UpdateFlowParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose_flows import propose_update_flow as run

    return run(service, params, ctx)


def propose_delete_flow(
    service: KlaviyoService, params: models.DeleteFlowParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose_delete import propose_delete_flow as run

    return run(service, params, ctx)


def propose_create_webhook(
    service: KlaviyoService, params: models.CreateWebhookParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose_webhooks import propose_create_webhook as run

    return run(service, params, ctx)


def propose_delete_webhook(
    service: KlaviyoService, params: models.DeleteWebhookParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.propose_webhooks import propose_delete_webhook as run

    return run(service, params, ctx)


def execute_action(
    service: KlaviyoService, params: models.ActionParams, ctx: CallContext
) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.executor import execute_action as run

    return run(service, params, ctx)


def list_actions(
    service: KlaviyoService, params: models.ListActionsParams, ctx: CallContext
) -> ToolResult[models.ActionList]:
    from klaviyo_analytics.actions.audit import list_actions as run

    return run(service, params, ctx)


def get_action(service: KlaviyoService, params: models.ActionParams, ctx: CallContext) -> ToolResult[models.ActionView]:
    from klaviyo_analytics.actions.audit import get_action as run

    return run(service, params, ctx)


def topic_ids(svc: KlaviyoService, account: Account, ctx: CallContext) -> list[str]:
    items = svc.client.get_all(account, "/api/webhook-topics", {}, deadline=ctx.deadline, cache_ttl=0)
    return [str(i["id"]) for i in items if isinstance(i, dict) and i.get("id")]


def _row(item: dict[str, Any]) -> models.WebhookRow:
    attrs = item.get("attributes") or {}
    linked = ((item.get("relationships") or {}).get("webhook-topics") or {}).get("data") or []
    return models.WebhookRow(
        webhook_id=str(item["id"]),
        name=attrs.get("name"),
        description=attrs.get("description"),
        endpoint_url=attrs.get("endpoint_url"),
        enabled=attrs.get("enabled"),
        topics=[str(t.get("id")) for t in linked if isinstance(t, dict)],
        created_at=attrs.get("created_at"),
    )


def get_webhooks(
    svc: KlaviyoService, params: models.WebhooksParams, ctx: CallContext
) -> ToolResult[models.WebhooksResult]:
    account = svc.account(params.account)
    # Uncached: a webhook just created or deleted through an action shows at once.
    items = svc.client.get_all(account, "/api/webhooks", {}, deadline=ctx.deadline, cache_ttl=0)
    rows = [_row(i) for i in items if isinstance(i, dict) and i.get("id")]
    return ToolResult(models.WebhooksResult(topics=topic_ids(svc, account, ctx), webhooks=rows), account=account.slug)

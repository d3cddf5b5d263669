"""Approval-gated actions. Propose tools only store a plan; a person approves it outside the model's
reach (REST approve route or CLI — deliberately not tools); execute runs the stored plan once."""

from __future__ import annotations

from klaviyo_analytics.schemas.actions import (
    ActionList,
    ActionParams,
    ActionView,
    AddProfilesToListParams,
    CampaignDraftParams,
    CloneCampaignParams,
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
    WebhooksParams,
    WebhooksResult,
)
from klaviyo_analytics.schemas.common import StrictModel
from klaviyo_analytics.service.actions import (
    execute_action,
    get_action,
    get_webhooks,
    list_actions,
    propose_add_profiles_to_list,
    propose_campaign_draft,
    propose_clone_campaign,
    propose_create_list,
    propose_create_webhook,
    propose_delete_flow,
    propose_delete_webhook,
    propose_flow,
    propose_pause_flow,
    propose_seed_demo_profiles,
    propose_segment,
    propose_update_flow,
)
from klaviyo_analytics.tools.spec import Handler, ToolSpec

PROPOSE = " A person approves before it runs."


def _propose(
    name: str,
    title: str,
    description: str,
    params: type[StrictModel],
    handler: Handler,
    scopes: str,
    path: str,
    destructive: bool = False,
) -> ToolSpec:
    return ToolSpec(
        name=f"klaviyo_propose_{name}",
        title=title,
        description=description + PROPOSE,
        params=params,
        result=ActionView,
        handler=handler,
        read_only=False,  # writes a proposal to the ledger; KLAVIYO_MCP_READ_ONLY hides it
        scopes=tuple(scopes.split()),
        toolset="actions",
        method="POST",
        path=f"/v1/actions/propose/{path}",
        # What a delete proposes cannot be undone (proposing itself writes only the ledger).
        destructive=destructive,
        idempotent=False,  # each call stores a new proposal
    )


_TOOLS: list[ToolSpec] = [
    _propose(
        "create_list", "Propose a list", "Propose creating a list.", CreateListParams,
        propose_create_list, "lists:write", "create-list",
    ),
    _propose(
        "seed_demo_profiles", "Propose demo profiles",
        "Propose synthetic example.com VIP profiles (demo_* properties) in a list, existing or new.",
        SeedDemoProfilesParams, propose_seed_demo_profiles, "flows:read lists:write profiles:write",
        "seed-demo-profiles",
    ),
    _propose(
        "add_profiles_to_list", "Propose list members", "Propose adding profiles (email or id) to a list.",
        AddProfilesToListParams, propose_add_profiles_to_list, "flows:read lists:write profiles:read",
        "add-profiles-to-list",
    ),
    _propose(
        "campaign_draft", "Propose a campaign draft",
        "Propose an email campaign Draft (optional HTML template) for a list or segment; never sends.",
        CampaignDraftParams, propose_campaign_draft, "campaigns:write templates:write", "campaign-draft",
    ),
    _propose(
        "clone_campaign", "Propose a campaign clone",
        "Propose a Draft copy of an email or SMS campaign (name, audience, subject optional); never scheduled.",
        CloneCampaignParams, propose_clone_campaign, "campaigns:write campaigns:read lists:read", "clone-campaign",
    ),
    _propose(
        "segment", "Propose a segment",
        "Propose a segment: vip (conversion value ≥ min_value in days) or winback (bought, not in days).",
        SegmentParams, propose_segment, "segments:write", "segment",
    ),
    _propose(
        "flow", "Propose a flow",
        "Propose a draft flow: recipe welcome_series, abandoned_checkout, winback, … or custom.",
        FlowParams, propose_flow, "flows:write templates:write", "flow",
    ),
    _propose(
        "update_flow", "Propose a flow edit", "Propose a draft flow's email subject or wait length change.",
        UpdateFlowParams, propose_update_flow, "flows:write", "update-flow",
    ),
    _propose(
        "pause_flow", "Propose pausing a flow", "Propose setting a flow to manual or draft (stops sending).",
        PauseFlowParams, propose_pause_flow, "flows:write", "pause-flow",
    ),
    _propose(
        "create_webhook", "Propose a webhook",
        "Propose a webhook to a public https endpoint_url for topics; secret_env names the "
        "KLAVIYO_WEBHOOK_SECRET* variable holding its secret.",
        CreateWebhookParams, propose_create_webhook, "webhooks:write webhooks:read",
        "create-webhook",
    ),
]  # fmt: skip

_DELETE_FLOW = _propose(
    "delete_flow", "Propose deleting a flow",
    "Propose deleting a flow that is not live; shows its messages and 30-day revenue.",
    DeleteFlowParams, propose_delete_flow, "flows:write flows:read", "delete-flow", destructive=True,
)  # fmt: skip

_DELETE_WEBHOOK = _propose(
    "delete_webhook", "Propose deleting a webhook", "Propose deleting a webhook.",
    DeleteWebhookParams, propose_delete_webhook, "webhooks:write webhooks:read", "delete-webhook",
    destructive=True,
)  # fmt: skip

_GET_WEBHOOKS = ToolSpec(
    name="klaviyo_get_webhooks",
    title="Webhooks",
    description="The account's webhooks (name, truncated endpoint, topics) and the webhook topics offered.",
    params=WebhooksParams,
    result=WebhooksResult,
    handler=get_webhooks,
    read_only=True,
    scopes=("webhooks:read",),
    toolset="actions",
    method="GET",
    path="/v1/webhooks",
)

TOOLS = (
    *_TOOLS,
    _DELETE_FLOW,
    _DELETE_WEBHOOK,
    _GET_WEBHOOKS,
    ToolSpec(
        name="klaviyo_execute_action",
        title="Execute an approved action",
        description="Run an approved action's stored plan once; returns created ids and the call trace.",
        params=ActionParams,
        result=ActionView,
        handler=execute_action,
        read_only=False,
        scopes=(),
        toolset="actions",
        method="POST",
        path="/v1/actions/<action_id>/execute",
        destructive=True,  # it can pause a flow
        idempotent=True,  # a plan runs once; calling again changes nothing more
    ),
    ToolSpec(
        name="klaviyo_list_actions",
        title="List actions",
        description="Actions, newest first, with status.",
        params=ListActionsParams,
        result=ActionList,
        handler=list_actions,
        read_only=True,
        scopes=(),
        toolset="actions",
        method="GET",
        path="/v1/actions",
    ),
    ToolSpec(
        name="klaviyo_get_action",
        title="Get an action",
        description="One action's plan, status, history (who, when), results and call trace.",
        params=ActionParams,
        result=ActionView,
        handler=get_action,
        read_only=True,
        scopes=(),
        toolset="actions",
        method="GET",
        path="/v1/actions/<action_id>",
    ),
)

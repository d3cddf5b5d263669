"""klaviyo_propose_create_webhook and klaviyo_propose_delete_webhook.

Everything is checked before anything is stored. The endpoint URL must be https and name a public
host, read as a browser reads it (``outbound_url.check_endpoint_url``: UTS-46, WHATWG rules, IPv4
inside IPv6); the error names the rule.
Topics must be in the account's topic list. The signing secret is named by ``secret_env``, declared
for its one field in the plan, and never read into the plan (secret_env.py).
"""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.actions import plans, preconditions, secret_env
from klaviyo_analytics.actions.plans import step
from klaviyo_analytics.actions.proposing import Reader, store
from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.rules import untrusted
from klaviyo_analytics.rules.outbound_url import check_endpoint_url
from klaviyo_analytics.schemas.actions import ActionView, CreateWebhookParams, DeleteWebhookParams
from klaviyo_analytics.service.actions import topic_ids
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult

SECRET_FIELD = "data.attributes.secret_key"  # noqa: S105 - a field path. The one field of the create body that holds the secret


def create_body(name: str, url: str, topics: list[str], secret_key: Any, description: str | None) -> dict[str, Any]:
    """POST /api/webhooks; in a plan ``secret_key`` is the variable's reference, never the value."""
    attributes: dict[str, Any] = {"name": name, "endpoint_url": url, "secret_key": secret_key}
    if description is not None:
        attributes["description"] = description
    linked = [{"type": "webhook-topic", "id": t} for t in topics]
    relationships = {"webhook-topics": {"data": linked}}
    return {"data": {"type": "webhook", "attributes": attributes, "relationships": relationships}}


def propose_create_webhook(
    service: KlaviyoService, params: CreateWebhookParams, ctx: CallContext
) -> ToolResult[ActionView]:
    account = service.account(params.account)
    url = check_endpoint_url(params.endpoint_url)
    topics = list(dict.fromkeys(params.topics))
    known = topic_ids(service, account, ctx)
    unknown = [t for t in topics if t not in known]
    if unknown:
        raise InvalidArgumentError(
            f"unknown webhook topics {', '.join(unknown)}; this account offers: {', '.join(known)}.",
            field="topics",
            rule="account_state",
            allowed=known,
        )
    secret_env.value_of(params.secret_env, field="secret_env")  # checked now; never stored or shown
    reader = Reader(service, account, ctx)
    existing = [str(w.get("id")) for w in reader.all("/api/webhooks", {}) if
                (w.get("attributes") or {}).get("name") == params.name]  # fmt: skip
    body = create_body(params.name, url, topics, secret_env.ref(params.secret_env), params.description)
    check = plans.by_name("/api/webhooks", params.name, "created", existing, params={"include": "webhook-topics"})
    plan = [
        step("create_webhook", f"Create the webhook {params.name!r}", "POST", "/api/webhooks", body=body,
             returns={"id": "id"}, check=check),
    ]  # fmt: skip
    # Declared beside the body, so it is hashed, signed and shown with the plan (secret_env.py).
    plan[0][secret_env.DECLARED] = [secret_env.declare(SECRET_FIELD, params.secret_env)]
    summary = (
        f"Create the webhook {params.name!r}: POST {', '.join(topics)} events to {url}, "
        f"signed with the secret in {params.secret_env} (read when it runs; never stored)."
    )
    warnings = ["Klaviyo will send these events, with profile data, to that endpoint as soon as it exists."]
    if existing:
        warnings.append(f"A webhook named {params.name!r} exists already ({', '.join(existing)}).")
    return store(service, account, "create_webhook", params, plan, summary, warnings, ctx)


def propose_delete_webhook(
    service: KlaviyoService, params: DeleteWebhookParams, ctx: CallContext
) -> ToolResult[ActionView]:
    account = service.account(params.account)
    hook = Reader(service, account, ctx).require(f"/api/webhooks/{params.webhook_id}", "webhook_id", "webhook")
    attrs = hook.get("attributes") or {}
    name = untrusted.clean(str(attrs.get("name") or params.webhook_id))
    where = untrusted.clean(str(attrs.get("endpoint_url") or "its endpoint"))
    label = f"the webhook {name!r} ({params.webhook_id})"
    plan = [
        step("delete_webhook", f"Delete {label}", "DELETE", "/api/webhooks/{webhook_id}",
             path_params={"webhook_id": params.webhook_id}),
    ]  # fmt: skip
    plan[0]["precondition"] = preconditions.exists("/api/webhooks/{webhook_id}", webhook_id=params.webhook_id)
    summary = f"Delete {label}: {where} stops receiving its events."
    warnings = ["DESTRUCTIVE: the webhook is deleted in Klaviyo; re-creating it needs its secret again."]
    return store(service, account, "delete_webhook", params, plan, summary, warnings, ctx)

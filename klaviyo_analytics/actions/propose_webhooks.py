"""klaviyo_propose_create_webhook and klaviyo_propose_delete_webhook.

Everything is checked before anything is stored. The endpoint URL must be https and name a public
host: a literal IP address (any form a resolver accepts, ``127.1`` or ``2130706433`` too) that is
loopback, private, link-local, reserved, multicast or otherwise not global is refused, as are
``localhost``, ``.local``/``.internal`` names, single-label names and credentials in the URL; the
error names the rule. Hostnames are not resolved (Klaviyo calls the endpoint, not this server).
Topics must be in the account's topic list. The signing secret is named by ``secret_env``, declared
for its one field in the plan, and never read into the plan (secret_env.py).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from klaviyo_analytics import untrusted
from klaviyo_analytics.actions import plans, preconditions, secret_env
from klaviyo_analytics.actions.plans import step
from klaviyo_analytics.actions.propose import Reader, _store
from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.schemas.actions import ActionView
from klaviyo_analytics.schemas.webhooks import CreateWebhookParams, DeleteWebhookParams
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.webhooks import topic_ids

SECRET_FIELD = "data.attributes.secret_key"  # noqa: S105 - a field path. The one field of the create body that holds the secret
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_WHAT = {
    "loopback": "a loopback address", "unspecified": "the unspecified address", "link_local": "a link-local address",
    "reserved": "a reserved address", "private": "a private-network address", "multicast": "a multicast address",
    "not_global": "an address that is not publicly routable",
}  # fmt: skip


def _bad_url(rule: str, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"endpoint_url {why}.", field="endpoint_url", rule="public_endpoint", reason=rule)


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if all(c in "0123456789abcdefx." for c in host):
        try:  # the legacy forms inet_aton accepts: 127.1, 0x7f.0.0.1, 2130706433
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _ip_rule(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for rule, flag in (
        ("loopback", address.is_loopback), ("unspecified", address.is_unspecified),
        ("link_local", address.is_link_local), ("reserved", address.is_reserved), ("private", address.is_private),
        ("multicast", address.is_multicast), ("not_global", not address.is_global),
    ):  # fmt: skip
        if flag:
            return rule
    return None


def check_endpoint_url(url: str) -> str:
    """The URL as given, or INVALID_ARGUMENT naming ``endpoint_url`` and the rule it breaks."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError as exc:
        raise _bad_url("malformed", f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() != "https":
        got = f"got {parts.scheme!r}" if parts.scheme else "no scheme given"
        raise _bad_url("https_only", f"must use https ({got})")
    if parts.username is not None or parts.password is not None:
        raise _bad_url("no_credentials", "must not carry credentials (user:password@); they would be stored")
    if not host:
        raise _bad_url("host_required", "has no host")
    address = _literal_ip(host)
    if address is not None:
        rule = _ip_rule(address)
        if rule:
            raise _bad_url(rule, f"points at {_WHAT[rule]} ({address}); use a public https endpoint")
        return url.strip()
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        raise _bad_url("loopback" if "localhost" in host else "private", f"names a local host ({host!r})")
    if "." not in host:
        raise _bad_url("public_hostname", f"host {host!r} is a single-label (intranet) name")
    return url.strip()


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
    return _store(service, account, "create_webhook", params, plan, summary, warnings, ctx)


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
    return _store(service, account, "delete_webhook", params, plan, summary, warnings, ctx)

"""Every Klaviyo operation the product calls, in one table.

Rate limits and scopes are copied from the ``x-klaviyo-ratelimit`` and ``x-klaviyo-scopes``
extensions of the OpenAPI spec at the pinned revision; ``tests/test_endpoints.py`` checks
this table against the spec so it cannot drift. The client paces, retries and explains
missing scopes from this table, and refuses the operations marked ``forbidden``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    burst: int  # per second
    steady: int  # per minute
    daily: int | None = None


XS = RateLimit(1, 15)
S = RateLimit(3, 60)
M = RateLimit(10, 150)
L = RateLimit(75, 750)
REPORT = RateLimit(1, 2, 225)


@dataclass(frozen=True)
class Endpoint:
    operation_id: str
    method: str
    template: str
    limit: RateLimit
    scopes: tuple[str, ...]
    # A read is safe to retry and to cache; report and aggregate POSTs are reads.
    read: bool
    forbidden: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", self.template) + "/?$")


def _e(op: str, method: str, template: str, limit: RateLimit, scopes: str, read: bool) -> Endpoint:
    return Endpoint(op, method, template, limit, tuple(scopes.split()), read)


ENDPOINTS: tuple[Endpoint, ...] = (
    _e("get_accounts", "GET", "/api/accounts", XS, "accounts:read", True),
    _e("get_metrics", "GET", "/api/metrics", M, "metrics:read", True),
    _e("get_metric", "GET", "/api/metrics/{id}", M, "metrics:read", True),
    _e("query_metric_aggregates", "POST", "/api/metric-aggregates", S, "metrics:read", True),
    _e("query_campaign_values", "POST", "/api/campaign-values-reports", REPORT, "campaigns:read", True),
    _e("query_flow_values", "POST", "/api/flow-values-reports", REPORT, "flows:read", True),
    _e("query_flow_series", "POST", "/api/flow-series-reports", REPORT, "flows:read", True),
    _e("query_segment_values", "POST", "/api/segment-values-reports", REPORT, "segments:read", True),
    _e("query_segment_series", "POST", "/api/segment-series-reports", REPORT, "segments:read", True),
    _e("get_campaigns", "GET", "/api/campaigns", M, "campaigns:read", True),
    _e("get_campaign", "GET", "/api/campaigns/{id}", M, "campaigns:read", True),
    _e("get_messages_for_campaign", "GET", "/api/campaigns/{id}/campaign-messages", M, "campaigns:read", True),
    _e("get_campaign_message", "GET", "/api/campaign-messages/{id}", M, "campaigns:read", True),
    _e("create_campaign", "POST", "/api/campaigns", M, "campaigns:write", False),
    _e("update_campaign", "PATCH", "/api/campaigns/{id}", M, "campaigns:write", False),
    _e("create_campaign_clone", "POST", "/api/campaign-clone", M, "campaigns:write", False),
    _e("update_campaign_message", "PATCH", "/api/campaign-messages/{id}", M, "campaigns:write", False),
    _e(
        "assign_template_to_campaign_message",
        "POST",
        "/api/campaign-message-assign-template",
        M,
        "campaigns:write",
        False,
    ),
    _e("get_forms", "GET", "/api/forms", S, "forms:read", True),
    _e("get_form", "GET", "/api/forms/{id}", S, "forms:read", True),
    _e("get_versions_for_form", "GET", "/api/forms/{id}/form-versions", S, "forms:read", True),
    _e("query_form_values", "POST", "/api/form-values-reports", REPORT, "forms:read", True),
    _e("query_form_series", "POST", "/api/form-series-reports", REPORT, "forms:read", True),
    _e("get_flows", "GET", "/api/flows", S, "flows:read", True),
    _e("get_flow", "GET", "/api/flows/{id}", S, "flows:read", True),
    _e("get_actions_for_flow", "GET", "/api/flows/{id}/flow-actions", S, "flows:read", True),
    _e("get_flow_action", "GET", "/api/flow-actions/{id}", S, "flows:read", True),
    _e("get_flow_action_messages", "GET", "/api/flow-actions/{id}/flow-messages", S, "flows:read", True),
    _e("get_flow_message", "GET", "/api/flow-messages/{id}", S, "flows:read", True),
    _e("update_flow", "PATCH", "/api/flows/{id}", S, "flows:write", False),
    _e("create_flow", "POST", "/api/flows", RateLimit(1, 15, 100), "flows:write", False),
    _e("delete_flow", "DELETE", "/api/flows/{id}", S, "flows:write", False),
    _e("update_flow_action", "PATCH", "/api/flow-actions/{id}", S, "flows:write", False),
    _e("get_lists", "GET", "/api/lists", L, "lists:read", True),
    _e("get_list", "GET", "/api/lists/{id}", L, "lists:read", True),
    # Which flows start when a profile joins the list: read before any plan adds members (flow_guard).
    _e("get_flows_triggered_by_list", "GET", "/api/lists/{id}/flow-triggers", S, "flows:read lists:read", True),
    _e("create_list", "POST", "/api/lists", RateLimit(10, 150, 150), "lists:write", False),
    _e(
        "add_profiles_to_list",
        "POST",
        "/api/lists/{id}/relationships/profiles",
        M,
        "lists:write profiles:write",
        False,
    ),
    _e(
        "remove_profiles_from_list",
        "DELETE",
        "/api/lists/{id}/relationships/profiles",
        M,
        "lists:write profiles:write",
        False,
    ),
    _e("get_profiles", "GET", "/api/profiles", L, "profiles:read", True),
    _e("get_profiles_for_list", "GET", "/api/lists/{id}/profiles", L, "lists:read profiles:read", True),
    _e("get_profiles_for_segment", "GET", "/api/segments/{id}/profiles", L, "profiles:read segments:read", True),
    _e("create_profile", "POST", "/api/profiles", L, "profiles:write", False),
    _e("create_or_update_profile", "POST", "/api/profile-import", L, "profiles:write", False),
    _e("get_segments", "GET", "/api/segments", L, "segments:read", True),
    _e("get_segment", "GET", "/api/segments/{id}", L, "segments:read", True),
    _e("create_segment", "POST", "/api/segments", RateLimit(1, 15, 100), "segments:write", False),
    _e("create_template", "POST", "/api/templates", L, "templates:write", False),
    _e("get_templates", "GET", "/api/templates", L, "templates:read", True),
    _e("get_template", "GET", "/api/templates/{id}", L, "templates:read", True),
    _e("get_webhook_topics", "GET", "/api/webhook-topics", XS, "webhooks:read", True),
    _e("get_webhooks", "GET", "/api/webhooks", XS, "webhooks:read", True),
    _e("get_webhook", "GET", "/api/webhooks/{id}", XS, "webhooks:read", True),
    _e("create_webhook", "POST", "/api/webhooks", XS, "webhooks:write", False),
    _e("delete_webhook", "DELETE", "/api/webhooks/{id}", XS, "webhooks:write", False),
    # Sending is for people, in Klaviyo: the client refuses this outright.
    Endpoint("send_campaign", "POST", "/api/campaign-send-jobs", M, ("campaigns:write",), False, forbidden=True),
)

# `additional-fields[...]=profile_count` moves these operations onto a much lower limit.
PROFILE_COUNT_LIMIT = XS
_PROFILE_COUNT_OPS = {"get_list": "additional-fields[list]", "get_segment": "additional-fields[segment]"}
# Operations whose path starts like this are refused whatever the method (send jobs and their cancels).
FORBIDDEN_PREFIXES = ("/api/campaign-send-jobs",)


@dataclass(frozen=True)
class Resolved:
    endpoint: Endpoint
    bucket: str  # pacing key: operation, or operation plus the expensive variant
    limit: RateLimit


def resolve(method: str, path: str, params: Mapping[str, object] | None = None) -> Resolved | None:
    """The endpoint a request is for, with the rate limit that applies to these parameters."""
    method = method.upper()
    for endpoint in ENDPOINTS:
        if endpoint.method == method and endpoint.pattern.match(path):
            variant_param = _PROFILE_COUNT_OPS.get(endpoint.operation_id)
            if variant_param and "profile_count" in str((params or {}).get(variant_param, "")):
                return Resolved(endpoint, f"{endpoint.operation_id}:profile_count", PROFILE_COUNT_LIMIT)
            return Resolved(endpoint, endpoint.operation_id, endpoint.limit)
    return None

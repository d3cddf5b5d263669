"""What sdk_driver.py sends: a body for each write route, per revision, and the SDK calls of Klaviyo's
MCP server's read tools. Plain data over the plan's ids; imports nothing from the repository."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

Route = tuple[str, str]
_SERIAL = itertools.count(1)  # each created profile needs its own email


def _campaign_bodies(revision: str, ids: dict[str, str]) -> dict[Route, Callable[[], Any]]:
    if revision == "2026-10-15":
        details = {"channel": "email", "content": {"subject": "Hi", "from_email": "hi@acme.example"}}
        return {
            ("POST", "/api/campaigns"): lambda: {"data": {"type": "campaign", "attributes": {
                "definition": {"name": "SDK omni", "send_settings": {"send_strategy": "static"}},
                "audiences": [{"temporary_id": "a1", "included": [ids["list"]]}],
                "messages": [{"audience_temporary_id": "a1", "name": "Main",
                              "variations": [{"definition": {"name": "A", "details": details}}]}]}}},
            ("PATCH", "/api/campaigns/{id}"): lambda: {"data": {"type": "campaign", "id": ids["draft"],
                "attributes": {"definition": {"name": "SDK omni (renamed)", "color": "ff5733"}}}},
            ("PATCH", "/api/campaign-messages/{id}"): lambda: {"data": {"type": "campaign-message",
                "id": ids["draft_message"], "attributes": {"definition": {"name": "Renamed",
                "tracking_options": {"is_add_utm": True}}}}},
            ("PATCH", "/api/campaign-variations/{id}"): lambda: {"data": {"type": "campaign-variation",
                "id": ids["draft_variation"], "attributes": {"definition": {"name": "B",
                "details": {"content": {"subject": "Changed"}}}}}},
        }  # fmt: skip
    return {
        ("POST", "/api/campaigns"): lambda: {"data": {"type": "campaign", "attributes": {
            "name": "SDK draft", "audiences": {"included": [ids["list"]]},
            "campaign-messages": {"data": [{"type": "campaign-message", "attributes": {"definition": {
                "channel": "email", "label": "Main", "content": {"subject": "Hi", "from_email": "hi@acme.example"}}}}]}}}},
        ("PATCH", "/api/campaigns/{id}"): lambda: {"data": {"type": "campaign", "id": ids["draft"],
            "attributes": {"name": "SDK draft (renamed)"}}},
        ("PATCH", "/api/campaign-messages/{id}"): lambda: {"data": {"type": "campaign-message",
            "id": ids["draft_message"], "attributes": {"definition": {"channel": "email",
            "content": {"subject": "Changed"}}}}},
    }  # fmt: skip


def bodies(revision: str, ids: dict[str, str]) -> dict[Route, Callable[[], Any]]:
    tf = {"key": "last_30_days"}
    conv = ids["metric"]
    profile_sub = {"data": [{"type": "profile", "attributes": {"email": "sdk.sub@example.com", "subscriptions": {
        "email": {"marketing": {"consent": "SUBSCRIBED"}}}}}]}  # fmt: skip
    flow_definition = {"triggers": [{"type": "list", "id": ids["list"]}], "entry_action_id": "a1", "actions": [
        {"temporary_id": "a1", "type": "send-email", "links": {"next": None},
         "data": {"message": {"subject_line": "Hi", "template_id": ids["template"]}}}]}  # fmt: skip
    return {
        **_campaign_bodies(revision, ids),
        ("POST", "/api/metric-aggregates"): lambda: {"data": {"type": "metric-aggregate", "attributes": {
            "metric_id": conv, "measurements": ["count"], "interval": "month",
            "filter": ["greater-or-equal(datetime,2025-12-01T00:00:00)", "less-than(datetime,2026-03-01T00:00:00)"]}}},
        ("POST", "/api/campaign-values-reports"): lambda: {"data": {"type": "campaign-values-report", "attributes": {
            "statistics": ["recipients", "open_rate"], "timeframe": tf, "conversion_metric_id": conv}}},
        ("POST", "/api/flow-values-reports"): lambda: {"data": {"type": "flow-values-report", "attributes": {
            "statistics": ["recipients"], "timeframe": tf, "conversion_metric_id": conv}}},
        ("POST", "/api/flow-series-reports"): lambda: {"data": {"type": "flow-series-report", "attributes": {
            "statistics": ["opens"], "timeframe": tf, "interval": "weekly", "conversion_metric_id": conv}}},
        ("POST", "/api/segment-values-reports"): lambda: {"data": {"type": "segment-values-report", "attributes": {
            "statistics": ["total_members"], "timeframe": tf}}},
        ("POST", "/api/segment-series-reports"): lambda: {"data": {"type": "segment-series-report", "attributes": {
            "statistics": ["total_members"], "timeframe": tf, "interval": "weekly"}}},
        ("POST", "/api/form-values-reports"): lambda: {"data": {"type": "form-values-report", "attributes": {
            "statistics": ["viewed_form", "submits", "submit_rate"], "timeframe": tf,
            "group_by": ["form_id", "form_version_id"]}}},
        ("POST", "/api/form-series-reports"): lambda: {"data": {"type": "form-series-report", "attributes": {
            "statistics": ["submits"], "timeframe": tf, "interval": "weekly"}}},
        ("POST", "/api/campaign-clone"): lambda: {"data": {"type": "campaign", "id": ids["campaign"],
                                                          "attributes": {"new_name": "SDK clone"}}},
        ("POST", "/api/template-clone"): lambda: {"data": {"type": "template", "id": ids["template"],
                                                          "attributes": {"name": "SDK template clone"}}},
        ("POST", "/api/campaign-message-assign-template"): lambda: {"data": {"type": "campaign-message",
            "id": ids["draft_message"], "relationships": {"template": {"data": {"type": "template",
                                                                                "id": ids["template"]}}}}},
        ("POST", "/api/campaign-send-jobs"): lambda: {"data": {"type": "campaign-send-job", "id": ids["draft"]}},
        ("POST", "/api/flows"): lambda: {"data": {"type": "flow", "attributes": {"name": "SDK flow",
                                                                                  "definition": flow_definition}}},
        ("PATCH", "/api/flows/{id}"): lambda: {"data": {"type": "flow", "id": ids["flow"],
                                                        "attributes": {"status": "manual"}}},
        ("PATCH", "/api/flow-actions/{id}"): lambda: {"data": {"type": "flow-action", "id": ids["send_action"],
                                                               "attributes": {"definition": ids["send_action_def"]}}},
        ("POST", "/api/lists"): lambda: {"data": {"type": "list", "attributes": {"name": "SDK list"}}},
        ("POST", "/api/lists/{id}/relationships/profiles"): lambda: {"data": [{"type": "profile",
                                                                               "id": ids["profile"]}]},
        ("DELETE", "/api/lists/{id}/relationships/profiles"): lambda: {"data": [{"type": "profile",
                                                                                 "id": ids["profile"]}]},
        ("POST", "/api/profiles"): lambda: {"data": {"type": "profile", "attributes": {
            "email": f"sdk.new{next(_SERIAL)}@example.com"}}},
        ("PATCH", "/api/profiles/{id}"): lambda: {"data": {"type": "profile", "id": ids["profile"],
                                                           "attributes": {"title": "Dr"}}},
        ("POST", "/api/profile-import"): lambda: {"data": {"type": "profile", "attributes": {
            "email": "sdk.import@example.com"}}},
        ("POST", "/api/profile-subscription-bulk-create-jobs"): lambda: {"data": {
            "type": "profile-subscription-bulk-create-job", "attributes": {"profiles": profile_sub},
            "relationships": {"list": {"data": {"type": "list", "id": ids["list"]}}}}},
        ("POST", "/api/profile-subscription-bulk-delete-jobs"): lambda: {"data": {
            "type": "profile-subscription-bulk-delete-job", "attributes": {"profiles": {"data": [{"type": "profile",
                "attributes": {"email": "sdk.sub@example.com", "subscriptions": {"email": {"marketing": {
                    "consent": "UNSUBSCRIBED"}}}}}]}},
            "relationships": {"list": {"data": {"type": "list", "id": ids["list"]}}}}},
        ("POST", "/api/segments"): lambda: {"data": {"type": "segment", "attributes": {"name": "SDK seg",
            "definition": {"condition_groups": [{"conditions": [{"type": "profile-group-membership",
                                                                "is_member": True, "group_ids": [ids["list"]]}]}]}}}},
        ("POST", "/api/templates"): lambda: {"data": {"type": "template", "attributes": {
            "name": "SDK template", "editor_type": "CODE", "html": "<p>hi</p>"}}},
        ("POST", "/api/webhooks"): lambda: {"data": {"type": "webhook", "attributes": {"name": "SDK hook",
            "endpoint_url": "https://hooks.example.com/sdk", "secret_key": "sdk-secret-0001"},
            "relationships": {"webhook-topics": {"data": [{"type": "webhook-topic",
                                                           "id": "event:klaviyo.sent_sms"}]}}}},
        ("POST", "/api/events"): lambda: {"data": {"type": "event", "attributes": {"properties": {"Item": "Hat"},
            "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": "sdk.event@example.com"}}}}}},
        ("POST", "/api/images"): lambda: {"data": {"type": "image", "attributes": {
            "import_from_url": "https://img.example/never-fetched.png"}}},
    }  # fmt: skip


def mcp_server_reads(ids: dict[str, str]) -> list[tuple[str, str, str, list[Any], dict[str, Any]]]:
    """The SDK calls the read tools of Klaviyo's MCP server (klaviyo-mcp-server 0.4.2, tools/*.py) make,
    with the arguments they pass: (tool, group, method, args, kwargs). It pins klaviyo-api < 25."""
    tf = {"key": "last_365_days"}
    return [
        ("get_account_details", "Accounts", "get_accounts", [], {}),
        ("get_campaigns", "Campaigns", "get_campaigns", [], {"fields_campaign": ["name", "status", "send_time"],
            "filter": "equals(messages.channel,'email')", "include": ["campaign-messages"]}),
        ("get_campaign", "Campaigns", "get_campaign", [ids["campaign"]], {"include": ["campaign-messages"]}),
        ("get_catalog_items", "Catalogs", "get_catalog_items", [], {"fields_catalog_item": ["title", "price",
            "url", "published"], "filter": "equals(published,true)", "include": ["variants"], "sort": "-created"}),
        ("get_events", "Events", "get_events", [], {"fields_event": ["timestamp", "event_properties", "datetime",
            "uuid"], "fields_metric": ["name", "created", "updated", "integration"], "fields_profile": ["email",
            "phone_number", "external_id", "first_name", "last_name"], "include": ["metric", "profile",
            "attributions"], "filter": f"equals(metric_id,\"{ids['metric']}\"),has(profile)", "sort": "-datetime"}),
        ("get_flows", "Flows", "get_flows", [], {"fields_flow": ["name", "status"], "page_size": 10}),
        ("get_flow", "Flows", "get_flow", [ids["flow"]], {}),
        ("get_lists", "Lists", "get_lists", [], {"fields_list": ["name"], "sort": "name", "include": ["tags"]}),
        ("get_list", "Lists", "get_list", [ids["list"]], {"include": ["tags"],
                                                           "additional_fields_list": ["profile_count"]}),
        ("get_metrics", "Metrics", "get_metrics", [], {"fields_metric": ["name"]}),
        ("get_metric", "Metrics", "get_metric", [ids["metric"]], {}),
        ("get_profiles", "Profiles", "get_profiles", [], {"page_size": 5, "fields_profile": ["email"],
                                                          "sort": "-created"}),
        ("get_profile", "Profiles", "get_profile", [ids["profile"]], {"additional_fields_profile": ["subscriptions"]}),
        ("get_campaign_report", "Reporting", "query_campaign_values", [{"data": {"type": "campaign-values-report",
            "attributes": {"statistics": ["opens", "clicks", "conversion_value"], "conversion_metric_id": ids["metric"],
                           "timeframe": tf, "filter": "equals(send_channel,\"email\")"}}}], {}),
        ("get_flow_report", "Reporting", "query_flow_values", [{"data": {"type": "flow-values-report", "attributes": {
            "statistics": ["opens", "clicks"], "conversion_metric_id": ids["metric"], "timeframe": tf,
            "filter": "equals(send_channel,\"email\")"}}}], {}),
        ("get_segments", "Segments", "get_segments", [], {"fields_segment": ["name"], "include": ["tags"]}),
        ("get_segment", "Segments", "get_segment", [ids["segment"]], {"include": ["tags"],
                                                                      "additional_fields_segment": ["profile_count"]}),
        ("get_email_template", "Templates", "get_template", [ids["template"]], {}),
    ]  # fmt: skip

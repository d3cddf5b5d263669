"""Every served operation, success and error, against Klaviyo's OpenAPI spec (revision 2026-07-15).

The ``make_client`` transport validates each response against the spec's schema for that
operation and status, and each accepted request body against the request schema; these tests
walk every operation so that nothing the sandbox serves escapes the check.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from klaviyo_sandbox import Sandbox, SandboxConfig
from klaviyo_sandbox.spec import operations

from .activity_calls import activity_successes
from .conftest import ANCHOR, ClientFactory, SpecChecker
from .helpers import MEDIA, patch, post

pytestmark = pytest.mark.fidelity


def _ids(sb: Sandbox) -> dict[str, str]:
    acc = sb.store.accounts["acme"]
    campaign = next(c for c in acc.campaigns.values() if c.status == "Sent")
    flow = next(iter(acc.flows.values()))
    return {
        "campaign": campaign.id,
        "message": campaign.message_ids[0],
        "flow": flow.id,
        "action": flow.action_ids[0],
        "send_action": next(a.id for a in acc.actions.values() if a.message_ids),
        "flow_message": next(iter(acc.flow_messages)),
        "list": next(iter(acc.lists)),
        "segment": next(iter(acc.segments)),
        "template": next(iter(acc.templates)),
        "profile": next(iter(acc.profiles)),
        "metric": sb.accounts[0].conversion_metric_id,
        "form": next(iter(acc.forms)),
        "form_version": next(iter(acc.form_versions)),
        "clicked": acc.metric_id("Clicked Email"),
    }


FORM_VALUES = {
    "type": "form-values-report",
    "attributes": {"statistics": ["viewed_form", "submits", "submit_rate"], "timeframe": {"key": "last_365_days"},
                   "group_by": ["form_id", "form_version_id"]},
}  # fmt: skip
FORM_SERIES = {
    "type": "form-series-report",
    "attributes": {"statistics": ["submits"], "timeframe": {"key": "last_30_days"}, "interval": "daily"},
}


def _successes(c: httpx.Client, ids: dict[str, str]) -> None:
    conv, tf = ids["metric"], {"key": "last_365_days"}
    ok = [
        c.get("/api/forms", params={"sort": "-created_at", "page[size]": "2"}),
        c.get(f"/api/forms/{ids['form']}"),
        c.get(f"/api/forms/{ids['form']}/form-versions"),
        c.get(f"/api/form-versions/{ids['form_version']}"),
        post(c, "/api/form-values-reports", FORM_VALUES),
        post(c, "/api/form-series-reports", FORM_SERIES),
        post(c, "/api/campaign-clone", {"type": "campaign", "id": ids["campaign"], "attributes": {"new_name": "Copy"}}),
        post(c, "/api/template-clone", {"type": "template", "id": ids["template"], "attributes": {"name": "T copy"}}),
        c.get("/api/accounts"),
        c.get("/api/metrics", params={"include": "flow-triggers"}),
        c.get(f"/api/metrics/{conv}", params={"fields[metric]": "name,integration"}),
        c.get("/api/campaigns", params={"filter": "equals(messages.channel,'email')", "include": "campaign-messages"}),
        c.get("/api/campaigns", params={"filter": "equals(messages.channel,'sms')", "page[size]": "3"}),
        c.get(f"/api/campaigns/{ids['campaign']}", params={"include": "campaign-messages,tags"}),
        c.get(f"/api/campaigns/{ids['campaign']}/campaign-messages", params={"include": "campaign,template"}),
        c.get(f"/api/campaign-messages/{ids['message']}"),
        c.get("/api/flows", params={"include": "flow-actions", "sort": "-created"}),
        c.get(f"/api/flows/{ids['flow']}", params={"additional-fields[flow]": "definition"}),
        c.get(f"/api/flows/{ids['flow']}/flow-actions"),
        c.get(f"/api/flow-actions/{ids['action']}", params={"include": "flow,flow-messages"}),
        c.get(f"/api/flow-actions/{ids['send_action']}/flow-messages", params={"sort": "name"}),
        c.get(f"/api/flow-messages/{ids['flow_message']}", params={"include": "flow-action,template"}),
        c.get("/api/lists", params={"include": "flow-triggers"}),
        c.get(f"/api/lists/{ids['list']}", params={"additional-fields[list]": "profile_count"}),
        c.get(f"/api/lists/{ids['list']}/flow-triggers", params={"fields[flow]": "name,status,archived"}),
        c.get("/api/segments"),
        c.get(f"/api/segments/{ids['segment']}", params={"additional-fields[segment]": "profile_count"}),
        c.get("/api/profiles", params={"additional-fields[profile]": "subscriptions,predictive_analytics"}),
        c.get(f"/api/profiles/{ids['profile']}"),
        c.get(f"/api/lists/{ids['list']}/profiles", params={"additional-fields[profile]": "predictive_analytics",
                                                              "page[size]": "5"}),
        c.get("/api/templates"),
        c.get(f"/api/templates/{ids['template']}", params={"additional-fields[template]": "definition"}),
        post(c, "/api/campaign-values-reports", {"type": "campaign-values-report", "attributes": {
            "statistics": ["recipients", "open_rate", "conversion_value", "text_message_roi"], "timeframe": tf,
            "conversion_metric_id": conv, "group_by": ["campaign_id", "campaign_message_id", "campaign_message_name"],
            "filter": "contains-any(send_channel,[\"email\",\"sms\"])"}}),
        post(c, "/api/flow-values-reports", {"type": "flow-values-report", "attributes": {
            "statistics": ["recipients", "click_rate"], "timeframe": tf, "conversion_metric_id": conv}}),
        post(c, "/api/flow-series-reports", {"type": "flow-series-report", "attributes": {
            "statistics": ["opens", "open_rate"], "timeframe": {"key": "last_30_days"}, "interval": "daily",
            "conversion_metric_id": conv}}),
        post(c, "/api/segment-values-reports", {"type": "segment-values-report", "attributes": {
            "statistics": ["members_added", "members_removed", "net_members_changed", "total_members"],
            "timeframe": tf}}),
        post(c, "/api/segment-series-reports", {"type": "segment-series-report", "attributes": {
            "statistics": ["total_members"], "timeframe": {"key": "last_90_days"}, "interval": "weekly",
            "filter": f"equals(segment_id,\"{ids['segment']}\")"}}),
        post(c, "/api/metric-aggregates", {"type": "metric-aggregate", "attributes": {
            "metric_id": conv, "measurements": ["count", "sum_value", "unique"], "interval": "month",
            "filter": ["greater-or-equal(datetime,2025-06-01T00:00:00)", "less-than(datetime,2026-01-01T00:00:00)"],
            "by": ["$attributed_message"], "timezone": "America/New_York", "sort": "-count"}}),
        post(c, "/api/metric-aggregates", {"type": "metric-aggregate", "attributes": {  # derived dimensions
            "metric_id": ids["clicked"], "measurements": ["count", "unique"], "interval": "week",
            "filter": ["greater-or-equal(datetime,2025-12-01T00:00:00)", "less-than(datetime,2026-03-01T00:00:00)"],
            "by": ["$variation", "URL", "Client Type", "$message_send_cohort"], "sort": "-count"}}),
        post(c, "/api/metric-aggregates", {"type": "metric-aggregate", "attributes": {
            "metric_id": conv, "measurements": ["unique", "sum_value"], "by": ["$attributed_variation"],
            "filter": ["greater-or-equal(datetime,2025-12-01T00:00:00)", "less-than(datetime,2026-03-01T00:00:00)",
                       'equals($attributed_variation,"Variation B")']}}),
        post(c, "/api/lists", {"type": "list", "attributes": {"name": "Fidelity", "opt_in_process": "single_opt_in"}}),
        post(c, "/api/segments", {"type": "segment", "attributes": {"name": "Fidelity", "definition": {
            "condition_groups": [{"conditions": [{"type": "profile-group-membership", "is_member": True,
                                                  "group_ids": [ids["list"]]}]}]}}}),
        post(c, "/api/templates", {"type": "template", "attributes": {"name": "Fidelity", "editor_type": "CODE",
                                                                       "html": "<p>hi</p>"}}),
        post(c, f"/api/lists/{ids['list']}/relationships/profiles", [{"type": "profile", "id": ids["profile"]}]),
        c.request("DELETE", f"/api/lists/{ids['list']}/relationships/profiles", headers={"Content-Type": MEDIA},
                  content=json.dumps({"data": [{"type": "profile", "id": ids["profile"]}]})),
        patch(c, f"/api/flows/{ids['flow']}", {"type": "flow", "id": ids["flow"], "attributes": {"status": "manual"}}),
        post(c, "/api/flows", {"type": "flow", "attributes": {"name": "Fidelity", "definition": {
            "triggers": [{"type": "list", "id": ids["list"]}], "entry_action_id": "a1", "actions": [
                {"temporary_id": "a1", "type": "time-delay", "links": {"next": "a2"}, "data": {"value": 1}},
                {"temporary_id": "a2", "type": "send-email", "links": {"next": None},
                 "data": {"message": {"subject_line": "Hi", "template_id": ids["template"]}}}]}}}),
        post(c, "/api/profile-import", {"type": "profile", "attributes": {"email": "fidelity@example.com"}}),
        post(c, "/api/profile-import", {"type": "profile", "attributes": {"email": "fidelity@example.com",
                                                                          "first_name": "Fi"}}),
        post(c, "/api/profile-subscription-bulk-create-jobs", {"type": "profile-subscription-bulk-create-job",
            "attributes": {"custom_source": "Fidelity", "profiles": {"data": [{"type": "profile", "attributes": {
                "email": "fidelity@example.com", "subscriptions": {"email": {"marketing": {"consent": "SUBSCRIBED"}}}}}]}},
            "relationships": {"list": {"data": {"type": "list", "id": ids["list"]}}}}),
        post(c, "/api/profile-subscription-bulk-delete-jobs", {"type": "profile-subscription-bulk-delete-job",
            "attributes": {"profiles": {"data": [{"type": "profile", "attributes": {
                "email": "fidelity@example.com", "subscriptions": {"email": {"marketing": {"consent": "UNSUBSCRIBED"}}}}}]}},
            "relationships": {"list": {"data": {"type": "list", "id": ids["list"]}}}}),
        c.get("/api/profiles", params={"additional-fields[profile]": "subscriptions",
                                       "filter": "equals(email,\"fidelity@example.com\")"}),
    ]  # fmt: skip
    ok += activity_successes(c, ids)
    assert [r.status_code for r in ok if r.status_code >= 300] == []
    created = post(c, "/api/profiles", {"type": "profile", "attributes": {"email": "fresh@example.com"}})
    pid = created.json()["data"]["id"]
    assert patch(c, f"/api/profiles/{pid}", {"type": "profile", "id": pid, "attributes": {"title": "Dr"}}).is_success
    campaign = post(c, "/api/campaigns", {"type": "campaign", "attributes": {
        "name": "Fidelity", "audiences": {"included": [ids["list"]]}, "send_strategy": {"method": "immediate"},
        "campaign-messages": {"data": [{"type": "campaign-message", "attributes": {"definition": {
            "channel": "email", "label": "Fidelity", "content": {"subject": "Hello", "from_email": "a@b.example"}}}}]},
    }})  # fmt: skip
    assert campaign.status_code == 201
    cid = campaign.json()["data"]["id"]
    mid = campaign.json()["data"]["relationships"]["campaign-messages"]["data"][0]["id"]
    assert patch(c, f"/api/campaigns/{cid}", {"type": "campaign", "id": cid, "attributes": {"name": "F2"}}).is_success
    assert patch(c, f"/api/campaign-messages/{mid}", {"type": "campaign-message", "id": mid, "attributes": {
        "definition": {"channel": "email", "content": {"subject": "Changed"}}}}).is_success  # fmt: skip
    assigned = post(c, "/api/campaign-message-assign-template", {"type": "campaign-message", "id": mid,
        "relationships": {"template": {"data": {"type": "template", "id": ids["template"]}}}})  # fmt: skip
    assert assigned.status_code == 200
    assert post(c, "/api/campaign-send-jobs", {"type": "campaign-send-job", "id": cid}).status_code == 202
    action = c.get(f"/api/flow-actions/{ids['send_action']}").json()["data"]
    definition = action["attributes"]["definition"]
    definition["data"]["message"]["subject_line"] = "Edited"
    edited = patch(c, f"/api/flow-actions/{action['id']}", {"type": "flow-action", "id": action["id"],
                                                            "attributes": {"definition": definition}})  # fmt: skip
    assert edited.status_code == 200
    assert c.delete(f"/api/flows/{ids['flow']}").status_code == 204
    assert c.get("/api/webhook-topics").status_code == 200
    hook = post(
        c,
        "/api/webhooks",
        {
            "type": "webhook",
            "attributes": {
                "name": "Fidelity",
                "endpoint_url": "https://hooks.example.com/k",
                "secret_key": "s3cret-fidelity",
            },
            "relationships": {"webhook-topics": {"data": [{"type": "webhook-topic", "id": "event:klaviyo.sent_sms"}]}},
        },
    )
    assert hook.status_code == 201
    wid = hook.json()["data"]["id"]
    assert c.get("/api/webhooks", params={"include": "webhook-topics"}).status_code == 200
    assert c.get(f"/api/webhooks/{wid}", params={"include": "webhook-topics"}).status_code == 200
    assert c.delete(f"/api/webhooks/{wid}").status_code == 204


def _errors(c: httpx.Client, ids: dict[str, str]) -> list[httpx.Response]:
    """A 4xx for every operation (its revision header removed), plus the other error kinds."""
    assert post(c, "/api/profiles", {"type": "profile", "attributes": {"email": "dup@example.com"}}).is_success
    out = []
    for op in operations().values():
        path = op.path.replace("{id}", ids["campaign"])
        out.append(c.request(op.method, path, headers={"revision": ""}))
    out += [
        c.get("/api/does-not-exist"),
        c.delete("/api/accounts"),
        c.get("/api/campaigns"),
        c.get(f"/api/flows/{ids['flow']}", params={"include": "nonsense"}),
        post(c, "/api/profiles", {"type": "profile", "attributes": {"email": "dup@example.com"}}),
    ]
    return out


def test_every_operation_success_and_error_matches_the_spec(
    make_client: ClientFactory, require_spec: SpecChecker
) -> None:
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=1e-6))
    client = make_client(sb)
    ids = _ids(sb)
    require_spec.checked.clear()
    _successes(client, ids)
    errors = _errors(client, ids)
    assert all(400 <= r.status_code < 500 for r in errors)
    seen = set(require_spec.checked)
    served = {op.operation_id for op in operations().values()}
    succeeded = {op for op, status in seen if status < 300}
    failed = {op for op, status in seen if status >= 400}
    assert served - succeeded == set()
    assert served - failed == set()
    assert {"unknown-route"} <= failed


def test_checker_rejects_a_document_that_breaks_the_spec(require_spec: SpecChecker) -> None:
    bad: dict[str, Any] = {"data": [{"type": "campaign", "id": "x", "attributes": {"name": 3}}]}
    with pytest.raises(AssertionError, match="does not match the spec"):
        require_spec.check_response(
            "GET", "/api/campaigns", 200, httpx.Headers({"content-type": MEDIA}), json.dumps(bad).encode()
        )
    with pytest.raises(AssertionError, match="does not match the spec"):
        require_spec.check_request("POST", "/api/lists", json.dumps({"data": {"type": "list"}}).encode())


def test_nullable_and_overlapping_alternatives_are_accepted(require_spec: SpecChecker) -> None:
    # send_options is a oneOf of three identical schemas: strict oneOf would reject this campaign body.
    body = {"data": {"type": "campaign", "attributes": {"name": "x", "audiences": {"included": ["Y6nRLr"]},
            "send_options": {"use_smart_sending": True}, "tracking_options": None,
            "campaign-messages": {"data": [{"type": "campaign-message",
                                            "attributes": {"definition": {"channel": "email"}}}]}}}}  # fmt: skip
    require_spec.check_request("POST", "/api/campaigns", json.dumps(body).encode())

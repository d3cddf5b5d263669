"""POST /api/flows: a draft flow from an encoded definition, readable back and through its actions."""

from __future__ import annotations

from typing import Any

import httpx

from klaviyo_sandbox import Sandbox, SandboxConfig

from .conftest import ANCHOR, ClientFactory
from .helpers import error_of, patch, post
from .test_ratelimit import FakeClock


def _definition(list_id: str, template_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    email = {"subject_line": "Welcome", "from_email": "hello@acme.example", "from_label": "Acme"}
    if template_id:
        email["template_id"] = template_id
    actions = [
        {"temporary_id": "email-1", "type": "send-email", "links": {"next": "wait-1"},
         "data": {"status": "live", "message": email}},
        {"temporary_id": "wait-1", "type": "time-delay", "links": {"next": "email-2"},
         "data": {"unit": "days", "value": 2}},
        {"temporary_id": "email-2", "type": "send-email", "links": {"next": None},
         "data": {"message": {**email, "subject_line": "Our story"}}},
    ]  # fmt: skip
    return {"triggers": [{"type": "list", "id": list_id}], "actions": actions, "entry_action_id": "email-1"} | overrides


def _body(definition: dict[str, Any], name: str = "Welcome series") -> dict[str, Any]:
    return {"type": "flow", "attributes": {"name": name, "definition": definition}}


def test_created_flow_is_a_draft_with_real_ids_visible_to_reads(sandbox: Sandbox, client: httpx.Client) -> None:
    list_id = client.get("/api/lists").json()["data"][0]["id"]
    template_id = client.get("/api/templates").json()["data"][0]["id"]
    created = post(client, "/api/flows", _body(_definition(list_id, template_id)))
    assert created.status_code == 201
    flow = created.json()["data"]
    assert flow["attributes"]["status"] == "draft"  # even though an action said live
    assert flow["attributes"]["trigger_type"] == "Added to List"
    definition = flow["attributes"]["definition"]
    ids = [a["id"] for a in definition["actions"]]
    assert all(i.isdigit() for i in ids) and definition["entry_action_id"] == ids[0]
    assert [a["links"]["next"] for a in definition["actions"]] == [ids[1], ids[2], None]
    assert "temporary_id" not in str(definition)
    read = client.get(f"/api/flows/{flow['id']}", params={"additional-fields[flow]": "definition"}).json()["data"]
    assert read["attributes"]["definition"] == definition
    actions = client.get(f"/api/flows/{flow['id']}/flow-actions").json()["data"]
    assert [a["attributes"]["definition"]["type"] for a in actions] == ["send-email", "time-delay", "send-email"]
    assert {a["attributes"]["definition"]["data"].get("status") for a in actions} == {"draft", None}
    messages = client.get(f"/api/flow-actions/{ids[0]}/flow-messages").json()["data"]
    assert messages[0]["attributes"]["definition"]["subject_line"] == "Welcome"
    assert messages[0]["attributes"]["definition"]["template_id"] == template_id
    [record] = sandbox.state()["accounts"]["acme"]["flows"]
    assert record["id"] == flow["id"] and record["action_ids"] == ids


def test_bad_definitions_are_refused_with_a_pointer(fast: httpx.Client) -> None:
    list_id = fast.get("/api/lists").json()["data"][0]["id"]
    good = _definition(list_id)
    cases = [
        (good | {"triggers": [{"type": "list", "id": "NOPE42"}]}, "/triggers/0/id"),
        (good | {"entry_action_id": "missing"}, "/entry_action_id"),
        (good | {"actions": []}, "/actions"),
        (good | {"actions": [{**good["actions"][0], "id": "123"}]}, "/actions/0/id"),
        (good | {"actions": [{**good["actions"][0], "links": {"next": "ghost"}}]}, "/actions/0/links"),
        (_definition(list_id, "NOTEMPLATE"), "/actions/0/data/message/template_id"),
    ]
    for definition, pointer in cases:
        refused = post(fast, "/api/flows", _body(definition))
        assert refused.status_code == 400, pointer
        assert error_of(refused)["source"]["pointer"] == "/data/attributes/definition" + pointer
    assert post(fast, "/api/flows", {"type": "flow", "attributes": {"name": "x"}}).status_code == 400


def test_metric_trigger(fast: httpx.Client) -> None:
    metric = fast.get("/api/metrics").json()["data"][0]["id"]
    definition = _definition("unused") | {"triggers": [{"type": "metric", "id": metric}]}
    created = post(fast, "/api/flows", _body(definition, "Abandoned checkout"))
    assert created.status_code == 201
    assert created.json()["data"]["attributes"]["trigger_type"] == "Metric"


def test_daily_create_limit_is_the_spec_one(make_client: ClientFactory) -> None:
    clock = FakeClock()
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, clock=clock))
    client = make_client(sb)
    list_id = client.get("/api/lists").json()["data"][0]["id"]
    statuses = []
    for i in range(101):
        clock.now += 1.1 if i % 14 else 61  # under 1/s and 15/min
        statuses.append(post(client, "/api/flows", _body(_definition(list_id), f"F{i}")).status_code)
    assert statuses[:100] == [201] * 100
    assert statuses[100] == 429


def test_deleting_a_flow_removes_its_actions_and_messages(sandbox: Sandbox, client: httpx.Client) -> None:
    list_id = client.get("/api/lists").json()["data"][0]["id"]
    flow = post(client, "/api/flows", _body(_definition(list_id))).json()["data"]
    action_ids = [a["id"] for a in flow["attributes"]["definition"]["actions"]]
    assert client.delete(f"/api/flows/{flow['id']}").status_code == 204
    assert client.get(f"/api/flows/{flow['id']}").status_code == 404
    assert client.get(f"/api/flow-actions/{action_ids[0]}").status_code == 404
    assert client.delete(f"/api/flows/{flow['id']}").status_code == 404
    [deleted] = sandbox.state()["accounts"]["acme"]["flow_deletions"]
    assert deleted["id"] == flow["id"] and len(deleted["message_ids"]) == 2


def test_editing_a_flow_action_updates_its_message(sandbox: Sandbox, client: httpx.Client) -> None:
    list_id = client.get("/api/lists").json()["data"][0]["id"]
    flow = post(client, "/api/flows", _body(_definition(list_id))).json()["data"]
    email, wait = flow["attributes"]["definition"]["actions"][:2]
    email["data"]["message"]["subject_line"] = "Welcome, friend"
    body = {"type": "flow-action", "id": email["id"], "attributes": {"definition": email}}
    assert patch(client, f"/api/flow-actions/{email['id']}", body).status_code == 200
    [message] = client.get(f"/api/flow-actions/{email['id']}/flow-messages").json()["data"]
    assert message["attributes"]["definition"]["subject_line"] == "Welcome, friend"
    assert message["attributes"]["definition"]["name"] == "Welcome series – Email 1"
    wait["data"]["value"] = 5
    body = {"type": "flow-action", "id": wait["id"], "attributes": {"definition": wait}}
    assert patch(client, f"/api/flow-actions/{wait['id']}", body).status_code == 200
    read = client.get(f"/api/flow-actions/{wait['id']}").json()["data"]
    assert read["attributes"]["definition"]["data"]["value"] == 5
    wrong = {"type": "flow-action", "id": wait["id"], "attributes": {"definition": {**wait, "type": "send-email"}}}
    refused = patch(client, f"/api/flow-actions/{wait['id']}", wrong)
    assert refused.status_code == 400 and error_of(refused)["source"]["pointer"] == "/data/attributes/definition/type"
    assert len(sandbox.state()["accounts"]["acme"]["flow_action_updates"]) == 2

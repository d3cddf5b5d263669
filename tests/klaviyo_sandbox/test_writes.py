"""Writes persist, are visible to later reads, show in state(), and vanish on reset()."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from klaviyo_sandbox import Sandbox

from .conftest import GLOBEX_KEY, ClientFactory
from .helpers import MEDIA, error_of, patch, post


def _campaign_body(list_id: str, channel: str = "email", **extra: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {"channel": channel}
    if channel == "email":
        definition |= {"label": "Spring draft", "content": {"subject": "Hello spring", "from_email": "a@b.example"}}
    else:
        definition |= {"content": {"body": "Spring is here"}}
    return {"type": "campaign", "attributes": {
        "name": "Spring draft", "audiences": {"included": [list_id]},
        "campaign-messages": {"data": [{"type": "campaign-message", "attributes": {"definition": definition}}]},
        **extra}}  # fmt: skip


DND = {"body": {"properties": {}, "styles": {}, "sections": []}, "styles": []}


@pytest.fixture
def list_id(client: httpx.Client) -> str:
    return str(client.get("/api/lists").json()["data"][0]["id"])


def test_created_campaign_is_a_draft_visible_to_reads(sandbox: Sandbox, client: httpx.Client, list_id: str) -> None:
    created = post(client, "/api/campaigns", _campaign_body(list_id))
    assert created.status_code == 201
    campaign = created.json()["data"]
    assert campaign["attributes"]["status"] == "Draft"
    assert "included" not in created.json()
    message_id = campaign["relationships"]["campaign-messages"]["data"][0]["id"]
    assert len(campaign["id"]) == len(message_id) == 26
    fetched = client.get(f"/api/campaigns/{campaign['id']}").json()["data"]
    assert fetched["attributes"]["name"] == "Spring draft"
    messages = client.get(f"/api/campaigns/{campaign['id']}/campaign-messages").json()["data"]
    assert messages[0]["attributes"]["definition"]["content"]["subject"] == "Hello spring"
    listed = client.get(
        "/api/campaigns", params={"filter": "and(equals(messages.channel,'email'),equals(status,'Draft'))"}
    )
    assert campaign["id"] in {c["id"] for c in listed.json()["data"]}
    [record] = sandbox.state()["accounts"]["acme"]["campaigns"]
    assert record["id"] == campaign["id"] and record["message_ids"] == [message_id]


def test_sms_campaign_gets_sms_defaults(client: httpx.Client, list_id: str) -> None:
    created = post(client, "/api/campaigns", _campaign_body(list_id, "sms")).json()["data"]
    message_id = created["relationships"]["campaign-messages"]["data"][0]["id"]
    message = client.get(f"/api/campaign-messages/{message_id}").json()["data"]["attributes"]["definition"]
    assert message["render_options"]["shorten_links"] is True
    sms = client.get("/api/campaigns", params={"filter": "equals(messages.channel,'sms')", "sort": "-created_at"})
    assert created["id"] in {c["id"] for c in sms.json()["data"]}


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"audiences": {"included": []}}, "/data/attributes/audiences/included"),
        ({"audiences": {"included": ["NOPE00"]}}, "/data/attributes/audiences"),
        ({"campaign-messages": {"data": []}}, "/data/attributes/campaign-messages/data"),
        ({"campaign-messages": {"data": [{"type": "template"}]}}, "/data/attributes/campaign-messages/data/0/type"),
        (
            {
                "campaign-messages": {
                    "data": [{"type": "campaign-message", "attributes": {"definition": {"channel": "fax"}}}]
                }
            },
            "/data/attributes/campaign-messages/data/0/attributes/definition/channel",
        ),
        ({"send_strategy": {"method": "whenever"}}, "/data/attributes/send_strategy/method"),
    ],
)
def test_invalid_campaigns_are_refused(
    client: httpx.Client, list_id: str, change: dict[str, Any], pointer: str
) -> None:
    body = _campaign_body(list_id)
    body["attributes"] |= change
    response = post(client, "/api/campaigns", body)
    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": pointer}


def test_campaign_without_messages_is_refused(client: httpx.Client, list_id: str) -> None:
    body = _campaign_body(list_id)
    del body["attributes"]["campaign-messages"]
    assert post(client, "/api/campaigns", body).status_code == 400


def test_patch_campaign_and_message_merge(sandbox: Sandbox, client: httpx.Client, list_id: str) -> None:
    campaign = post(client, "/api/campaigns", _campaign_body(list_id)).json()["data"]
    cid = campaign["id"]
    mid = campaign["relationships"]["campaign-messages"]["data"][0]["id"]
    renamed = patch(client, f"/api/campaigns/{cid}", {"type": "campaign", "id": cid, "attributes": {"name": "Renamed"}})
    assert renamed.json()["data"]["attributes"]["name"] == "Renamed"
    changed = patch(client, f"/api/campaign-messages/{mid}", {"type": "campaign-message", "id": mid, "attributes": {
        "definition": {"channel": "email", "content": {"subject": "New subject"}}}})  # fmt: skip
    content = changed.json()["data"]["attributes"]["definition"]["content"]
    assert content["subject"] == "New subject"
    assert content["from_email"] == "a@b.example"  # omitted fields are kept
    mismatch = patch(client, f"/api/campaigns/{cid}", {"type": "campaign", "id": "OTHER", "attributes": {}})
    assert mismatch.status_code == 409
    switch = patch(client, f"/api/campaign-messages/{mid}", {"type": "campaign-message", "id": mid, "attributes": {
        "definition": {"channel": "sms", "content": {"body": "x"}}}})  # fmt: skip
    assert switch.status_code == 400
    state = sandbox.state()["accounts"]["acme"]
    assert len(state["campaign_updates"]) == len(state["campaign_message_updates"]) == 1


def test_sent_campaigns_cannot_be_patched(client: httpx.Client) -> None:
    sent = client.get(
        "/api/campaigns", params={"filter": "and(equals(messages.channel,'email'),equals(status,'Sent'))"}
    )
    cid = sent.json()["data"][0]["id"]
    response = patch(client, f"/api/campaigns/{cid}", {"type": "campaign", "id": cid, "attributes": {"name": "x"}})
    assert response.status_code == 400


def test_assign_template_copies_it(sandbox: Sandbox, client: httpx.Client, list_id: str) -> None:
    campaign = post(client, "/api/campaigns", _campaign_body(list_id)).json()["data"]
    mid = campaign["relationships"]["campaign-messages"]["data"][0]["id"]
    template = post(client, "/api/templates", {"type": "template", "attributes": {
        "name": "Spring", "editor_type": "CODE", "html": "<p>spring</p>"}}).json()["data"]  # fmt: skip
    assigned = post(client, "/api/campaign-message-assign-template", {"type": "campaign-message", "id": mid,
        "relationships": {"template": {"data": {"type": "template", "id": template["id"]}}}})  # fmt: skip
    assert assigned.status_code == 200
    data = assigned.json()["data"]
    assert data["attributes"]["channel"] == "email"
    assert data["attributes"]["content"]["subject"] == "Hello spring"
    copy_id = data["relationships"]["template"]["data"]["id"]
    assert copy_id != template["id"]
    assert client.get(f"/api/templates/{copy_id}").json()["data"]["attributes"]["html"] == "<p>spring</p>"
    copies = [t for t in sandbox.state()["accounts"]["acme"]["templates"] if t.get("copied_from")]
    assert copies == [copies[0]] and copies[0]["id"] == copy_id
    missing = post(client, "/api/campaign-message-assign-template", {"type": "campaign-message", "id": mid,
        "relationships": {"template": {"data": {"type": "template", "id": "NOPE"}}}})  # fmt: skip
    assert missing.status_code == 404
    no_template = post(client, "/api/campaign-message-assign-template", {"type": "campaign-message", "id": mid})
    assert no_template.status_code == 400


def test_send_jobs_are_recorded_and_change_nothing(sandbox: Sandbox, client: httpx.Client, list_id: str) -> None:
    cid = post(client, "/api/campaigns", _campaign_body(list_id)).json()["data"]["id"]
    response = post(client, "/api/campaign-send-jobs", {"type": "campaign-send-job", "id": cid})
    assert response.status_code == 202
    assert response.json()["data"]["attributes"]["status"] == "queued"
    assert client.get(f"/api/campaigns/{cid}").json()["data"]["attributes"]["status"] == "Draft"
    denied = httpx.Client(transport=sandbox.transport, base_url="https://a.klaviyo.com")
    assert (
        denied.post("/api/campaign-send-jobs", json={"data": {"type": "campaign-send-job", "id": cid}}).status_code
        == 401
    )
    attempts = sandbox.state()["send_job_attempts"]
    assert [(a["account"], a["campaign_id"]) for a in attempts] == [("acme", cid), (None, cid)]


def test_flow_status_changes(sandbox: Sandbox, client: httpx.Client) -> None:
    flow = client.get("/api/flows", params={"filter": "equals(status,'live')"}).json()["data"][0]
    fid = flow["id"]
    changed = patch(client, f"/api/flows/{fid}", {"type": "flow", "id": fid, "attributes": {"status": "manual"}})
    assert changed.json()["data"]["attributes"]["status"] == "manual"
    actions = client.get(f"/api/flows/{fid}/flow-actions").json()["data"]
    statuses = {
        a["attributes"]["definition"]["data"].get("status")
        for a in actions
        if "send" in a["attributes"]["definition"]["type"]
    }
    assert statuses == {"manual"}
    assert (
        patch(client, f"/api/flows/{fid}", {"type": "flow", "id": fid, "attributes": {"status": "paused"}}).status_code
        == 400
    )
    [change] = sandbox.state()["accounts"]["acme"]["flow_status_changes"]
    assert (change["flow_id"], change["previous"], change["status"]) == (fid, "live", "manual")


def test_lists_and_membership(sandbox: Sandbox, client: httpx.Client) -> None:
    created = post(client, "/api/lists", {"type": "list", "attributes": {"name": "VIP 2026"}})
    assert created.status_code == 201
    lid = created.json()["data"]["id"]
    assert len(lid) == 6 and lid.isalnum()
    assert created.json()["data"]["attributes"]["opt_in_process"] == "single_opt_in"
    found = client.get("/api/lists", params={"filter": "equals(name,['VIP 2026'])"}).json()["data"]
    assert [x["id"] for x in found] == [lid]
    profiles = [p["id"] for p in client.get("/api/profiles", params={"page[size]": "3"}).json()["data"]]
    body = [{"type": "profile", "id": p} for p in profiles]
    added = post(client, f"/api/lists/{lid}/relationships/profiles", body)
    assert added.status_code == 204 and added.content == b""

    def count() -> int:
        doc = client.get(f"/api/lists/{lid}", params={"additional-fields[list]": "profile_count"}).json()
        return int(doc["data"]["attributes"]["profile_count"])

    assert count() == 3
    removed = client.request("DELETE", f"/api/lists/{lid}/relationships/profiles", content=json.dumps({"data": body[:1]}),
                             headers={"Content-Type": MEDIA})  # fmt: skip
    assert removed.status_code == 204
    sandbox.limiter.reset()  # profile_count reads are limited to 1/s
    assert count() == 2
    too_many = [{"type": "profile", "id": profiles[0]}] * 1001
    assert post(client, f"/api/lists/{lid}/relationships/profiles", too_many).status_code == 400
    unknown = post(client, f"/api/lists/{lid}/relationships/profiles", [{"type": "profile", "id": "NOPE"}])
    assert error_of(unknown)["source"] == {"pointer": "/data/0/id"}
    assert post(client, "/api/lists/NOPE00/relationships/profiles", body).status_code == 404
    assert post(client, f"/api/lists/{lid}/relationships/profiles", [{"type": "list", "id": "x"}]).status_code == 400
    records = sandbox.state()["accounts"]["acme"]
    assert [r["id"] for r in records["lists"]] == [lid]
    assert [r["action"] for r in records["list_membership_changes"]] == ["added", "removed"]
    assert post(client, "/api/lists", {"type": "list", "attributes": {"name": "  "}}).status_code == 400


def test_profiles_create_duplicate_and_import(sandbox: Sandbox, client: httpx.Client) -> None:
    created = post(
        client, "/api/profiles", {"type": "profile", "attributes": {"email": "Sam@Example.com", "first_name": "Sam"}}
    )
    assert created.status_code == 201
    pid = created.json()["data"]["id"]
    duplicate = post(client, "/api/profiles", {"type": "profile", "attributes": {"email": "sam@example.com"}})
    assert duplicate.status_code == 409
    error = error_of(duplicate)
    assert error["code"] == "duplicate_profile"
    assert error["meta"]["duplicate_profile_id"] == pid
    updated = post(
        client,
        "/api/profile-import",
        {"type": "profile", "attributes": {"email": "sam@example.com", "last_name": "Lee"}},
    )
    assert updated.status_code == 200
    assert updated.json()["data"]["attributes"]["first_name"] == "Sam"
    assert updated.json()["data"]["attributes"]["last_name"] == "Lee"
    fresh = post(client, "/api/profile-import", {"type": "profile", "attributes": {"phone_number": "+15550001111"}})
    assert fresh.status_code == 201
    by_id = post(client, "/api/profile-import", {"type": "profile", "id": pid, "attributes": {"title": "Chef"}})
    assert by_id.status_code == 200 and by_id.json()["data"]["attributes"]["title"] == "Chef"
    assert post(client, "/api/profile-import", {"type": "profile", "id": "NOPE", "attributes": {}}).status_code == 404
    found = client.get("/api/profiles", params={"filter": 'equals(email,"sam@example.com")'}).json()["data"]
    assert [p["id"] for p in found] == [pid]
    assert found[0]["attributes"]["email"] == "sam@example.com"
    patched = patch(client, f"/api/profiles/{pid}", {"type": "profile", "id": pid, "attributes": {"last_name": None}})
    assert patched.json()["data"]["attributes"]["last_name"] is None
    clash = patch(
        client, f"/api/profiles/{pid}", {"type": "profile", "id": pid, "attributes": {"phone_number": "+15550001111"}}
    )
    assert clash.status_code == 409
    assert post(client, "/api/profiles", {"type": "profile", "attributes": {"first_name": "Anon"}}).status_code == 400
    assert (
        post(client, "/api/profiles", {"type": "profile", "attributes": {"email": "not-an-email"}}).status_code == 400
    )
    assert len(sandbox.state()["accounts"]["acme"]["profiles"]) == 2


def test_segments_and_templates(fast_sandbox: Sandbox, fast: httpx.Client) -> None:
    sandbox, client = fast_sandbox, fast
    list_id = str(client.get("/api/lists").json()["data"][0]["id"])
    definition = {"condition_groups": [{"conditions": [{"type": "profile-group-membership", "is_member": True,
                                                        "group_ids": [list_id]}]}]}  # fmt: skip
    created = post(
        client, "/api/segments", {"type": "segment", "attributes": {"name": "Members", "definition": definition}}
    )
    assert created.status_code == 201
    sid = created.json()["data"]["id"]
    assert client.get(f"/api/segments/{sid}").json()["data"]["attributes"]["definition"] == definition
    empty = post(
        client,
        "/api/segments",
        {"type": "segment", "attributes": {"name": "x", "definition": {"condition_groups": []}}},
    )
    assert empty.status_code == 400
    hollow = {"condition_groups": [{"conditions": []}]}
    assert (
        post(
            client, "/api/segments", {"type": "segment", "attributes": {"name": "x", "definition": hollow}}
        ).status_code
        == 400
    )
    template = post(
        client,
        "/api/templates",
        {"type": "template", "attributes": {"name": "T", "editor_type": "CODE", "html": "<p/>"}},
    )
    assert template.status_code == 201
    assert len(template.json()["data"]["id"]) == 26
    for attributes in (
        {"name": "T", "editor_type": "HTML", "html": "<p/>"},
        {"name": "T", "editor_type": "CODE"},
        {"name": "T", "editor_type": "SYSTEM_DRAGGABLE"},
        {"name": "T", "editor_type": "SYSTEM_DRAGGABLE", "definition": {}, "html": "<p/>"},
    ):
        assert post(client, "/api/templates", {"type": "template", "attributes": attributes}).status_code == 400
    dnd = post(
        client,
        "/api/templates",
        {"type": "template", "attributes": {"name": "D", "editor_type": "SYSTEM_DRAGGABLE", "definition": DND}},
    )
    assert dnd.status_code == 201
    state = sandbox.state()["accounts"]["acme"]
    assert [s["id"] for s in state["segments"]] == [sid]
    assert len(state["templates"]) == 2


def test_writes_stay_in_their_account_and_reset_restores_the_seed(sandbox: Sandbox, make_client: ClientFactory) -> None:
    acme, globex = make_client(sandbox), make_client(sandbox, key=GLOBEX_KEY)
    lid = post(acme, "/api/lists", {"type": "list", "attributes": {"name": "Acme only"}}).json()["data"]["id"]
    assert globex.get(f"/api/lists/{lid}").status_code == 404
    assert sandbox.state()["accounts"]["globex"]["lists"] == []
    sandbox.reset()
    assert acme.get(f"/api/lists/{lid}").status_code == 404
    assert sandbox.state()["accounts"]["acme"]["lists"] == []
    assert [e["path"] for e in sandbox.log()] == ["/api/lists/" + lid]

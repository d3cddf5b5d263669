"""Revision 2026-10-15: campaigns, messages, variations and audiences in that revision's shapes,
one record behind both revisions, and the 2026-07-15 shapes unchanged for 2026-07-15 requests."""

from __future__ import annotations

import httpx
import pytest

from klaviyo_sandbox import Sandbox, SandboxConfig

from .conftest import ACME_KEY, ANCHOR, BASE
from .helpers import error_of, patch, post

NEW = "2026-10-15"


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=1e-6))


def _client(sb: Sandbox, revision: str) -> httpx.Client:
    # Not the spec-checking client: the shipped spec is 2026-07-15's; the SDK contract test checks these shapes.
    headers = {"Authorization": f"Klaviyo-API-Key {ACME_KEY}", "revision": revision}
    return httpx.Client(transport=sb.transport, base_url=BASE, headers=headers)


def test_campaign_reads_take_the_asked_revisions_shape(sb: Sandbox) -> None:
    acme = sb.store.accounts["acme"]
    sent = next(c for c in acme.campaigns.values() if c.status == "Sent")
    new = _client(sb, NEW).get(f"/api/campaigns/{sent.id}", params={"include": "campaign-audiences"}).json()
    attrs = new["data"]["attributes"]
    assert set(attrs) == {"created_at", "updated_at", "definition"}
    assert attrs["definition"]["name"] == sent.name and "status" not in attrs
    assert set(attrs["definition"]["send_settings"]) >= {"send_timezone", "send_strategy"}
    audience = new["included"][0]
    assert audience["type"] == "campaign-audience"
    assert audience["attributes"]["definition"]["included"] == sent.audiences["included"]
    old = _client(sb, "2026-07-15").get(f"/api/campaigns/{sent.id}").json()["data"]["attributes"]
    assert old["status"] == "Sent" and "definition" not in old and "campaign-audiences" not in old


def test_messages_and_variations_at_2026_10_15(sb: Sandbox) -> None:
    acme = sb.store.accounts["acme"]
    sent = next(c for c in acme.campaigns.values() if c.status == "Sent" and c.channel == "email")
    c = _client(sb, NEW)
    message = c.get(f"/api/campaign-messages/{sent.message_ids[0]}", params={"include": "campaign-variations"}).json()
    attrs = message["data"]["attributes"]
    assert set(attrs) == {"created", "updated", "definition"}
    assert attrs["definition"]["status"] == "sent"  # MessageDefinition.status' enum is lower case
    variation = message["included"][0]
    content = acme.messages[sent.message_ids[0]].definition["content"]
    assert variation["attributes"]["definition"]["details"]["content"] == content
    again = c.get(f"/api/campaign-variations/{variation['id']}").json()["data"]
    assert again["relationships"]["campaign-message"]["data"]["id"] == sent.message_ids[0]
    listed = c.get(f"/api/campaign-messages/{sent.message_ids[0]}/campaign-variations").json()["data"]
    assert [v["id"] for v in listed] == [variation["id"]]
    assert c.get("/api/campaign-variations/NOPE-variation").status_code == 404


def test_an_omnicampaign_created_at_2026_10_15_reads_back_in_both_revisions(sb: Sandbox) -> None:
    acme = sb.store.accounts["acme"]
    list_id = next(iter(acme.lists))
    details = {"channel": "email", "content": {"subject": "Omni", "from_email": "hi@acme.example"}}
    created = post(_client(sb, NEW), "/api/campaigns", {"type": "campaign", "attributes": {
        "definition": {"name": "Omni", "color": "ff5733", "send_settings": {"send_strategy": "local_timezone"}},
        "audiences": [{"temporary_id": "a", "included": [list_id]}],
        "messages": [{"audience_temporary_id": "a", "variations": [{"definition": {"details": details}}]}]}})  # fmt: skip
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert data["attributes"]["definition"]["color"] == "ff5733"
    assert data["attributes"]["definition"]["send_settings"]["send_timezone"] == "UTC"
    old = _client(sb, "2026-07-15").get(f"/api/campaigns/{data['id']}").json()["data"]["attributes"]
    assert (old["name"], old["status"], old["audiences"]["included"]) == ("Omni", "Draft", [list_id])
    assert old["send_strategy"]["method"] == "static" and old["send_strategy"]["options"]["is_local"] is True
    # The 2026-07-15 body is refused at 2026-10-15 with the field that is missing.
    legacy = post(_client(sb, NEW), "/api/campaigns", {"type": "campaign", "attributes": {"name": "Old"}})
    assert legacy.status_code == 400 and error_of(legacy)["source"] == {"pointer": "/data/attributes/definition"}


def test_variation_edit_changes_the_content_both_revisions_see(sb: Sandbox) -> None:
    acme = sb.store.accounts["acme"]
    draft = next(c for c in acme.campaigns.values() if c.status == "Draft" and c.channel == "email")
    vid = f"{draft.message_ids[0]}-variation"
    edited = patch(_client(sb, NEW), f"/api/campaign-variations/{vid}", {"type": "campaign-variation", "id": vid,
        "attributes": {"definition": {"details": {"content": {"subject": "Edited at 2026-10-15"}}}}})  # fmt: skip
    assert edited.status_code == 200, edited.text
    old = _client(sb, "2026-07-15").get(f"/api/campaign-messages/{draft.message_ids[0]}").json()["data"]
    assert old["attributes"]["definition"]["content"]["subject"] == "Edited at 2026-10-15"


def test_routes_of_one_revision_are_unknown_in_the_other(sb: Sandbox) -> None:
    acme = sb.store.accounts["acme"]
    sent = next(iter(acme.campaigns.values()))
    assert _client(sb, "2026-07-15").get(f"/api/campaigns/{sent.id}/campaign-audiences").status_code == 404
    assert _client(sb, NEW).get(f"/api/campaigns/{sent.id}/campaign-audiences").status_code == 200
    # 2026-07-15 requires a channel filter to list campaigns; 2026-10-15 has none (and no such field).
    assert _client(sb, "2026-07-15").get("/api/campaigns").status_code == 400
    assert _client(sb, NEW).get("/api/campaigns", params={"filter": "equals(builder,'wizard')"}).status_code == 200
    refused = _client(sb, NEW).get("/api/campaigns", params={"filter": "equals(messages.channel,'email')"})
    assert refused.status_code == 400 and error_of(refused)["source"] == {"parameter": "filter"}

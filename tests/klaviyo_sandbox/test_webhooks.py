"""Sandbox webhooks: create, read back without the secret, refusals, delete."""

from __future__ import annotations

from typing import Any

from klaviyo_sandbox import Sandbox, SandboxConfig

from .conftest import ANCHOR, ClientFactory
from .helpers import post

SECRET = "whsec-sandbox-0123456789"


def _body(
    url: str = "https://hooks.example.com/klaviyo/in",
    topics: tuple[str, ...] = ("event:klaviyo.sent_sms",),
    secret: str = SECRET,
) -> dict[str, Any]:
    return {"type": "webhook", "attributes": {"name": "Relay", "endpoint_url": url, "secret_key": secret},
            "relationships": {"webhook-topics": {"data": [{"type": "webhook-topic", "id": t} for t in topics]}}}  # fmt: skip


def test_create_read_delete_never_answers_the_secret(make_client: ClientFactory) -> None:
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=1e-6))
    c = make_client(sb)
    topics = [t["id"] for t in c.get("/api/webhook-topics").json()["data"]]
    assert "event:klaviyo.sent_sms" in topics
    created = post(c, "/api/webhooks", _body())
    assert created.status_code == 201
    wid = created.json()["data"]["id"]
    listed = c.get("/api/webhooks", params={"include": "webhook-topics"})
    assert SECRET not in listed.text and SECRET not in created.text
    item = listed.json()["data"][0]
    assert item["attributes"]["endpoint_url"] == "https://hooks.example.com"  # truncated, as Klaviyo answers
    assert item["relationships"]["webhook-topics"]["data"] == [{"type": "webhook-topic", "id": topics[0]}]
    assert [t["id"] for t in listed.json()["included"]] == [topics[0]]
    assert c.delete(f"/api/webhooks/{wid}").status_code == 204
    assert c.get(f"/api/webhooks/{wid}").status_code == 404
    assert c.get("/api/webhooks").json()["data"] == []


def test_create_refusals_point_at_the_field(make_client: ClientFactory) -> None:
    c = make_client(Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=1e-6)))
    cases = [
        (_body(url="http://hooks.example.com/x"), "/data/attributes/endpoint_url"),
        (_body(topics=("event:klaviyo.nope",)), "/data/relationships/webhook-topics/data/0/id"),
        (_body(topics=()), "/data/relationships/webhook-topics/data"),
    ]
    for body, pointer in cases:
        answer = post(c, "/api/webhooks", body)
        assert answer.status_code == 400, body
        assert answer.json()["errors"][0]["source"]["pointer"] == pointer
    assert c.get("/api/webhooks").json()["data"] == []

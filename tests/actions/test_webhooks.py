"""Webhooks: the read tool, MCP and REST alike."""

from __future__ import annotations

import json
import secrets
from typing import Any

import anyio
import pytest
from mcp import Client

import server
from api import create_app
from tests.actions.action_env import REST_TOKEN, Env

ENV = "KLAVIYO_WEBHOOK_SECRET_RELAY"
TOPIC = "event:klaviyo.sent_sms"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "whsec-" + secrets.token_hex(16)
    monkeypatch.setenv(ENV, value)
    return value


def _create(**overrides: Any) -> dict[str, Any]:
    args = {"name": "Relay", "endpoint_url": "https://hooks.example.com/klaviyo", "topics": [TOPIC], "secret_env": ENV}
    return {**args, **overrides}


def _existing_webhook(env: Env) -> str:
    return env.post_as_someone_else("/api/webhooks", {"data": {"type": "webhook", "attributes": {
        "name": "Existing", "endpoint_url": "https://other.example.org/in", "secret_key": "someone-elses-secret-1"},
        "relationships": {"webhook-topics": {"data": [{"type": "webhook-topic", "id": TOPIC}]}}}})  # fmt: skip


async def _mcp(env: Env, name: str, arguments: dict[str, Any]) -> Any:
    async with Client(server.build_server(service=env.service)) as client:
        return await client.call_tool(name, arguments)


def test_get_webhooks_is_the_same_over_mcp_and_rest_and_has_no_secret(env: Env) -> None:
    wid = _existing_webhook(env)
    result = anyio.run(_mcp, env, "klaviyo_get_webhooks", {})
    assert result.is_error is False
    rest = (
        create_app(service=env.service)
        .test_client()
        .get("/v1/webhooks", headers={"Authorization": f"Bearer {REST_TOKEN}"})
    )
    assert rest.status_code == 200
    mcp_payload, rest_payload = result.structured_content, rest.json
    for payload in (mcp_payload, rest_payload):
        payload["metadata"].pop("latency_ms")
    assert mcp_payload == rest_payload
    data = mcp_payload["data"]
    assert TOPIC in data["topics"]
    assert [(w["webhook_id"], w["endpoint_url"], w["topics"]) for w in data["webhooks"]] == [
        (wid, "https://other.example.org", [TOPIC])
    ]
    assert "someone-elses-secret-1" not in json.dumps(mcp_payload) + result.content[0].text

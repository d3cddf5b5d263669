"""Webhooks: the read tool (MCP and REST alike), create and delete proposals, and the secret kept out of everything."""

from __future__ import annotations

import json
import secrets
from typing import Any

import anyio
import pytest
from mcp import Client

import server
from api import create_app
from klaviyo_analytics.tools import get_tool
from klaviyo_sandbox import FaultConfig
from tests.actions.action_env import REST_TOKEN, Env, ledger_bytes

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


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://hooks.example.com/x", "https_only"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://127.1/x", "loopback"),
        ("https://2130706433/x", "loopback"),
        ("https://[::1]/x", "loopback"),
        ("https://localhost:8443/x", "loopback"),
        ("https://10.1.2.3/x", "private"),
        ("https://192.168.0.10/x", "private"),
        ("https://[::ffff:10.0.0.1]/x", "private"),
        ("https://169.254.169.254/latest", "link_local"),
        ("https://[fe80::1]/x", "link_local"),
        ("https://240.0.0.1/x", "reserved"),
        ("https://100.64.0.1/x", "not_global"),
        ("https://0.0.0.0/x", "unspecified"),
        ("https://printer.local/x", "private"),
        ("https://intranet/x", "public_hostname"),
        ("https://user:pw@hooks.example.com/x", "no_credentials"),
        ("https:///x", "host_required"),
    ],
)
def test_an_endpoint_that_is_not_public_https_is_refused_before_anything_is_stored(
    env: Env, secret: str, url: str, rule: str
) -> None:
    error = env.error("klaviyo_propose_create_webhook", **_create(endpoint_url=url))
    assert (error.code, error.details["field"], error.details["rule"]) == (
        "INVALID_ARGUMENT", "endpoint_url", "public_endpoint"
    )  # fmt: skip
    assert error.details["reason"] == rule
    assert error.message.startswith("endpoint_url ")
    assert env.ledger.list_proposals(account="acme") == []


def test_unknown_topics_and_an_unusable_secret_variable_are_refused(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "a-long-enough-secret-value")
    error = env.error("klaviyo_propose_create_webhook", **_create(topics=["event:klaviyo.nope"]))
    assert (error.code, error.details["field"]) == ("INVALID_ARGUMENT", "topics") and TOPIC in error.message
    monkeypatch.setenv(ENV, "q7zx9")
    error = env.error("klaviyo_propose_create_webhook", **_create())
    assert (error.code, error.details["field"]) == ("INVALID_ARGUMENT", "secret_env") and "q7zx9" not in error.message
    monkeypatch.delenv(ENV)
    error = env.error("klaviyo_propose_create_webhook", **_create())
    assert (error.code, error.details["field"]) == ("INVALID_ARGUMENT", "secret_env")
    error = env.error("klaviyo_propose_create_webhook", **_create(secret_env="KLAVIYO_API_KEY"))
    assert (error.code, error.details["field"]) == ("INVALID_ARGUMENT", "secret_env")  # only the webhook prefix
    assert env.ledger.list_proposals(account="acme") == []


def test_the_secret_reaches_klaviyo_and_nothing_else(env: Env, secret: str, capfd: pytest.CaptureFixture[str]) -> None:
    answers = [env.call("klaviyo_propose_create_webhook", **_create())]
    view = answers[0]["data"]
    assert view["plan"][0]["body"]["data"]["attributes"]["secret_key"] == {"$secret_env": ENV}
    assert ENV in view["summary"] and "https://hooks.example.com/klaviyo" in view["summary"]
    env.approve(view["action_id"])
    answers.append(env.call("klaviyo_execute_action", action_id=view["action_id"]))
    assert answers[-1]["data"]["status"] == "succeeded"
    wid = answers[-1]["data"]["created"]["create_webhook"]["id"]
    assert env.sb.store.accounts["acme"].webhooks[wid].secret_key == secret  # Klaviyo got the real one
    answers += [env.call("klaviyo_get_action", action_id=view["action_id"]), env.call("klaviyo_get_webhooks")]
    assert [w["webhook_id"] for w in answers[-1]["data"]["webhooks"]] == [wid]
    trace = env.ledger.get_trace(view["action_id"])
    posted = next(t for t in trace if t.method == "POST")
    assert "[REDACTED]" in json.dumps(posted.request_body)
    swept = {
        "answers": json.dumps(answers),
        "trace": json.dumps([t.request_body for t in trace]),
        "ledger rows": ledger_bytes(env.settings.resolved_ledger_path).decode("utf-8", "replace"),
        "logs": "".join(capfd.readouterr()),
        "sandbox records": json.dumps(env.sb.state()),
    }
    assert [where for where, text in swept.items() if secret in text] == []


def test_a_secret_gone_by_execute_time_sends_nothing_and_keeps_the_approval(
    env: Env, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_id = env.propose("create_webhook", **_create())
    env.approve(action_id)
    monkeypatch.delenv(ENV)
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "CONFLICT" and ENV in error.message
    assert env.writes() == [] and env.ledger.get_proposal(action_id).status.value == "approved"
    monkeypatch.setenv(ENV, secret)
    assert env.call("klaviyo_execute_action", action_id=action_id)["data"]["status"] == "succeeded"
    monkeypatch.delenv(ENV)  # run once: executing again says so, whatever the environment holds now
    assert ENV not in env.error("klaviyo_execute_action", action_id=action_id).message


def test_a_lost_create_answer_is_adopted_not_created_twice(env: Env, secret: str) -> None:
    action_id = env.propose("create_webhook", **_create())
    env.approve(action_id)
    env.sb.set_faults(FaultConfig(applied_error=1.0, only_methods=frozenset({"POST"}), only_paths=("/api/webhooks",)))
    try:
        result = env.call("klaviyo_execute_action", action_id=action_id)["data"]
    finally:
        env.sb.set_faults(None)
    assert result["status"] == "succeeded" and result["created"]["create_webhook"]["found_existing"] is True
    assert len(env.sb.store.accounts["acme"].webhooks) == 1


def test_delete_is_destructive_checked_and_runs_once(env: Env) -> None:
    assert get_tool("klaviyo_propose_delete_webhook").destructive is True
    assert get_tool("klaviyo_get_webhooks").read_only is True
    error = env.error("klaviyo_propose_delete_webhook", webhook_id="NOPE42")
    assert error.details["field"] == "webhook_id"
    wid = _existing_webhook(env)
    proposed = env.call("klaviyo_propose_delete_webhook", webhook_id=wid)
    view = proposed["data"]
    assert (
        view["summary"]
        == f"Delete the webhook 'Existing' ({wid}): https://other.example.org stops receiving its events."
    )
    assert any(w.startswith("DESTRUCTIVE") for w in proposed["warnings"])
    env.approve(view["action_id"])
    done = env.call("klaviyo_execute_action", action_id=view["action_id"])["data"]
    assert done["status"] == "succeeded"
    assert [d["id"] for d in env.created()["webhook_deletions"]] == [wid]
    assert [t["call"] for t in done["trace"]] == [f"GET /api/webhooks/{wid}", f"DELETE /api/webhooks/{wid}"]

"""Every write tool, end to end, on all three adapters, with a users file (issue 23 item 6).

``klaviyo_propose_update_flow`` worked only over stdio: its ``action_id`` (a Klaviyo flow action)
was read by the access check as a ledger action id, so every REST and MCP-over-HTTP caller got 403
or 404. Here each propose tool runs propose → approve (REST, with the plan hash shown) → execute on
the sandbox over in-process MCP, MCP over Streamable HTTP and REST, under a users file that makes
the REST/HTTP caller a proposer and the approver a second person; the answers must be the same
(ids, times and who called aside), so an adapter-only break cannot hide again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from api import create_app
from klaviyo_analytics.tools import CATALOG, get_tool
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.actions.action_env import APPROVER_TOKEN, REST_TOKEN, Env, settings_for
from tests.adapters.mcp_http.inprocess import call as http_call
from tests.adapters.mcp_http.inprocess import http_app
from tests.adapters.test_mcp import call as mcp_call

VIP = "YEiTqa"  # the seeded "VIP Customers" list: no flow starts from it
SECRET_ENV = "KLAVIYO_WEBHOOK_SECRET_PARITY"
USERS = """[users.pat]
tokens_env = ["KLAVIYO_MCP_REST_API_KEY"]
grants = { acme = "proposer" }

[users.ann]
tokens_env = ["KLAVIYO_MCP_APPROVER_TOKENS"]
grants = { acme = "approver" }
"""


def _flow(env: Env, status: str) -> str:
    flows = env.get("/api/flows", filter=f"equals(status,'{status}')")
    return str(next(f for f in flows if not f["attributes"]["archived"])["id"])


def _email_action(env: Env) -> tuple[str, str]:
    for flow in env.get("/api/flows", filter="equals(status,'draft')"):
        steps = env.call("klaviyo_get_flow_structure", flow_id=flow["id"])["data"]["steps"]
        emails = [s["flow_action_id"] for s in steps if s["action_type"] == "send-email"]
        if emails and not flow["attributes"]["archived"]:
            return str(flow["id"]), str(emails[0])
    raise AssertionError("the sandbox seeds a draft flow with an email")


def _webhook(env: Env) -> str:
    return env.post_as_someone_else("/api/webhooks", {"data": {"type": "webhook", "attributes": {
        "name": "Old hook", "endpoint_url": "https://old.example.org/in", "secret_key": "someone-elses-secret-1"},
        "relationships": {"webhook-topics": {"data": [{"type": "webhook-topic", "id": "event:klaviyo.sent_sms"}]}}}})  # fmt: skip


def _sent_campaign(env: Env) -> str:
    campaigns = env.get("/api/campaigns", filter="and(equals(messages.channel,'email'),equals(status,'Sent'))")
    return str(campaigns[0]["id"])


def _profiles(env: Env) -> list[str]:
    return [str(p["id"]) for p in env.get("/api/profiles", **{"page[size]": "2"})[:2]]


# Each write tool's arguments, made on a freshly reset sandbox (objects it needs are made first).
ARGS: dict[str, Callable[[Env], dict[str, Any]]] = {
    "klaviyo_propose_create_list": lambda env: {"name": "Parity list"},
    "klaviyo_propose_seed_demo_profiles": lambda env: {"count": 2, "new_list_name": "Parity seeded"},
    "klaviyo_propose_add_profiles_to_list": lambda env: {"list_id": VIP, "profile_ids": _profiles(env)},
    "klaviyo_propose_campaign_draft": lambda env: {
        "name": "Parity campaign",
        "audience_id": VIP,
        "subject": "Hello",
        "template_html": "<p>Hi</p>",
    },
    "klaviyo_propose_segment": lambda env: {"recipe": "vip", "min_value": 100},
    "klaviyo_propose_flow": lambda env: {"recipe": "welcome_series", "trigger_id": VIP, "emails": 1},
    "klaviyo_propose_update_flow": lambda env: dict(
        zip(("flow_id", "flow_action_id"), _email_action(env), strict=True), subject="Parity subject"
    ),
    "klaviyo_propose_pause_flow": lambda env: {"flow_id": _flow(env, "live"), "status": "manual"},
    "klaviyo_propose_create_webhook": lambda env: {
        "name": "Parity hook",
        "endpoint_url": "https://hooks.example.com/in",
        "topics": ["event:klaviyo.sent_sms"],
        "secret_env": SECRET_ENV,
    },
    "klaviyo_propose_delete_flow": lambda env: {"flow_id": _flow(env, "draft")},
    "klaviyo_propose_delete_webhook": lambda env: {"webhook_id": _webhook(env)},
    "klaviyo_propose_clone_campaign": lambda env: {
        "campaign_id": _sent_campaign(env),
        "new_name": "Parity clone",
        "audience_id": VIP,
        "subject": "Again",
    },
}

# What legitimately differs between two runs: ids the sandbox makes, times, latencies, the caller.
_VOLATILE = [
    (re.compile(r"act_[A-Za-z0-9_-]+"), "ACT"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?"), "TIME"),
    (re.compile(r'"(latency_ms|ms)":\s*[0-9.]+'), r'"\1":0'),
    (re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b"), "ULID"),
    (re.compile(r'"plan_hash":\s*"[0-9a-f]{64}"'), '"plan_hash":"HASH"'),  # of a plan naming those ids
    (re.compile(r'"by":\s*"[^"]*"'), '"by":"CALLER"'),
    (re.compile(r'"proposed":\s*"[^"]*"'), '"proposed":"CALLER"'),  # a proposal's by: who proposed it
]


def normal(payload: Any) -> Any:
    text = json.dumps(payload, sort_keys=True)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return json.loads(text)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(time_scale=0.01))


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv(SECRET_ENV, "whsec-parity-0123456789abcdef")
    users = tmp_path / "users.toml"
    users.write_text(USERS)
    extra = {"KLAVIYO_MCP_USERS_FILE": str(users), "KLAVIYO_MCP_REST_RATE_LIMIT": "10000/minute"}
    sandbox.reset()
    sandbox.set_faults(None)
    return Env(sandbox, tmp_path, settings_for(sandbox, tmp_path, **extra), extra)


def _rest(env: Env, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    spec = get_tool(tool)
    http = create_app(service=env.service).test_client()
    path = spec.path.replace("<action_id>", str(arguments.get("action_id", "")))
    body = {k: v for k, v in arguments.items() if k != "action_id" or "<action_id>" not in spec.path}
    answer = http.open(path, method=spec.method, json=body, headers={"Authorization": f"Bearer {REST_TOKEN}"})
    assert answer.status_code == 200, (tool, answer.json)
    return dict(answer.json)


def _mcp(env: Env, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = anyio.run(mcp_call, env.service, tool, arguments)
    assert result.is_error is False, (tool, result.structured_content)
    return dict(result.structured_content)


def _http(env: Env, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = anyio.run(http_call, http_app(env.service), REST_TOKEN, tool, arguments)
    assert result.is_error is False, (tool, result.structured_content)
    return dict(result.structured_content)


ADAPTERS = {"mcp": _mcp, "mcp_http": _http, "rest": _rest}


def _approve(env: Env, proposed: dict[str, Any]) -> None:
    http = create_app(service=env.service).test_client()
    view = proposed["data"]
    body = {"plan_hash": view["plan_hash"], "reason": "parity"}
    if "BLOCKING" in json.dumps(proposed["warnings"]):
        body["acknowledge"] = ["live_flow_sends"]
    answer = http.post(
        f"/v1/actions/{view['action_id']}/approve", json=body, headers={"Authorization": f"Bearer {APPROVER_TOKEN}"}
    )
    assert answer.status_code == 200, answer.json


def test_every_write_tool_is_covered() -> None:
    writes = {s.name for s in CATALOG if not s.read_only and s.name != "klaviyo_execute_action"}
    assert writes == set(ARGS)


@pytest.mark.parametrize("tool", sorted(ARGS))
def test_a_write_tool_runs_end_to_end_alike_on_every_adapter(env: Env, sandbox: Sandbox, tool: str) -> None:
    seen: dict[str, Any] = {}
    for name, run in ADAPTERS.items():
        sandbox.reset()
        env.service.client.cache.clear()
        arguments = ARGS[tool](env)
        proposed = run(env, tool, arguments)
        _approve(env, proposed)
        executed = run(env, "klaviyo_execute_action", {"action_id": proposed["data"]["action_id"]})
        assert executed["data"]["status"] == "succeeded", (name, executed)
        for payload in (proposed, executed):
            payload["metadata"].pop("latency_ms", None)
            payload["metadata"].pop("quota", None)  # the day's report budget counts down between runs
        seen[name] = normal({"proposed": proposed, "executed": executed})
    for name in ("mcp_http", "rest"):
        first, other = json.dumps(seen["mcp"], indent=1).splitlines(), json.dumps(seen[name], indent=1).splitlines()
        differ = [f"{a} | {b}" for a, b in zip(first, other, strict=False) if a != b]
        assert seen["mcp"] == seen[name], (name, differ[:10])

"""Approval happens outside the model's reach: REST with an approver token, or the CLI. No MCP tool
approves; KLAVIYO_MCP_READ_ONLY hides every write tool; elicitation is an extra look, never the gate."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from flask import Flask
from flask.testing import FlaskClient
from mcp import Client
from mcp_types import ElicitResult

import server
from api import create_app
from api.auth import fingerprint
from klaviyo_analytics import paths
from klaviyo_analytics.actions import ProposalStatus
from klaviyo_analytics.actions.cli import main as cli_main
from klaviyo_analytics.service import KlaviyoService
from klaviyo_sandbox import Sandbox
from tests.actions.action_env import APPROVER_TOKEN, REST_TOKEN, Env, environment, settings_for
from tests.helpers import shown_plan_hash

READER = {"Authorization": f"Bearer {REST_TOKEN}"}
APPROVER = {"Authorization": f"Bearer {APPROVER_TOKEN}"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(env: Env) -> Flask:
    return create_app(service=env.service)


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    return app.test_client()


def rest_propose(http: FlaskClient, name: str = "From REST") -> str:
    response = http.post("/v1/actions/propose/create-list", json={"name": name}, headers=READER)
    assert response.status_code == 200, response.json
    return str(response.json["data"]["action_id"])


def test_rest_approval_needs_an_approver_token(env: Env, http: FlaskClient) -> None:
    action_id = rest_propose(http)
    url = f"/v1/actions/{action_id}/approve"
    assert http.post(url).json["error"]["code"] == "UNAUTHENTICATED"
    assert http.post(url).status_code == 401
    refused = http.post(url, headers=READER, json={"reason": "please"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "FORBIDDEN"
    assert "approver token" in refused.json["error"]["message"]
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING

    unbound = http.post(url, headers=APPROVER, json={"reason": "looks right"})
    assert unbound.status_code == 400 and unbound.json["error"]["details"]["field"] == "plan_hash"
    shown = http.get(f"/v1/actions/{action_id}", headers=READER).json["data"]["plan_hash"]
    approved = http.post(url, headers=APPROVER, json={"reason": "looks right", "plan_hash": shown})
    assert approved.status_code == 200 and approved.json["data"]["status"] == "approved"
    decision = env.ledger.get_history(action_id).decision
    assert decision is not None and (decision.approver, decision.reason) == (fingerprint(APPROVER_TOKEN), "looks right")
    assert APPROVER_TOKEN not in approved.get_data(as_text=True)
    again = http.post(url, headers=APPROVER, json={"plan_hash": shown})
    assert again.status_code == 409 and again.json["error"]["code"] == "CONFLICT"


def test_rest_execute_needs_approval_then_runs_once(env: Env, http: FlaskClient) -> None:
    action_id = rest_propose(http)
    early = http.post(f"/v1/actions/{action_id}/execute", headers=READER)
    assert early.status_code == 409 and early.json["error"]["code"] == "APPROVAL_REQUIRED"
    assert f"actions approve {action_id}`" in early.json["error"]["message"]
    shown = {"plan_hash": shown_plan_hash(env.ledger, action_id)}
    assert http.post(f"/v1/actions/{action_id}/approve", headers=APPROVER, json=shown).status_code == 200
    ran = http.post(f"/v1/actions/{action_id}/execute", headers=READER)
    assert ran.status_code == 200 and ran.json["data"]["status"] == "succeeded"
    assert ran.json["data"]["history"][-1]["by"] == fingerprint(REST_TOKEN)
    assert http.post(f"/v1/actions/{action_id}/execute", headers=READER).status_code == 409
    assert len(env.created()["lists"]) == 1
    listed = http.get("/v1/actions", headers=READER).json["data"]["actions"]
    assert [(a["action_id"], a["status"]) for a in listed] == [(action_id, "succeeded")]
    record = http.get(f"/v1/actions/{action_id}", headers=READER).json["data"]
    assert [h["to"] for h in record["history"]] == ["pending", "approved", "executing", "succeeded"]


def test_rest_reject_with_a_reason(env: Env, http: FlaskClient) -> None:
    action_id = rest_propose(http)
    rejected = http.post(f"/v1/actions/{action_id}/reject", headers=APPROVER, json={"reason": "wrong list"})
    assert rejected.json["data"]["status"] == "rejected"
    assert rejected.json["data"]["history"][-1]["note"] == "wrong list"
    assert http.post(f"/v1/actions/{action_id}/execute", headers=READER).json["error"]["code"] == "CONFLICT"
    assert env.writes() == []


@pytest.mark.parametrize(
    ("body", "field"), [({"reason": 5}, "reason"), ({"why": "x"}, "(body)"), ({"reason": "x" * 501}, "reason")]
)
def test_rest_decision_bodies_are_checked(http: FlaskClient, body: dict[str, Any], field: str) -> None:
    action_id = rest_propose(http)
    response = http.post(f"/v1/actions/{action_id}/approve", headers=APPROVER, json=body)
    assert response.status_code == 400 and response.json["error"]["details"]["field"] == field


def test_unknown_action_is_404(http: FlaskClient) -> None:
    response = http.post("/v1/actions/act_nope/approve", headers=APPROVER, json={"plan_hash": "0" * 64})
    assert response.json["error"]["code"] == "NOT_FOUND"


async def _mcp(service: KlaviyoService, calls: list[tuple[str, dict[str, Any]]], **client: Any) -> list[Any]:
    async with Client(server.build_server(service=service), **client) as session:
        return [await session.call_tool(name, args) for name, args in calls]


async def _tools(service: KlaviyoService) -> set[str]:
    async with Client(server.build_server(service=service)) as session:
        return {t.name for t in (await session.list_tools()).tools}


def test_no_mcp_tool_can_approve(env: Env) -> None:
    names = anyio.run(_tools, env.service)
    assert {"klaviyo_execute_action", "klaviyo_list_actions", "klaviyo_get_action"} <= names
    assert {n for n in names if any(w in n for w in ("approve", "reject", "decide", "confirm"))} == set()
    (proposed,) = anyio.run(_mcp, env.service, [("klaviyo_propose_create_list", {"name": "Via MCP"})])
    action_id = proposed.structured_content["data"]["action_id"]
    (early,) = anyio.run(_mcp, env.service, [("klaviyo_execute_action", {"action_id": action_id})])
    assert early.is_error and early.structured_content["error"]["code"] == "APPROVAL_REQUIRED"
    assert f"python -m klaviyo_analytics actions approve {action_id}" in early.content[0].text


def test_read_only_hides_every_write_tool(env: Env) -> None:
    env.service.settings = replace(env.service.settings, read_only=True)
    names = anyio.run(_tools, env.service)
    assert not {n for n in names if "propose" in n or "execute" in n}
    assert {"klaviyo_list_actions", "klaviyo_get_action"} <= names
    http = create_app(service=env.service).test_client()
    assert http.post("/v1/actions/propose/create-list", json={"name": "x"}, headers=READER).status_code in (404, 405)
    assert http.get("/v1/actions", headers=READER).status_code == 200


def _elicitation(answer: str, asked: list[str]) -> Any:
    async def callback(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action=answer, content={"confirm": True} if answer == "accept" else None)

    return callback


@pytest.mark.parametrize(("setting", "answer", "runs", "asks"), [
    ("true", "decline", False, True), ("true", "accept", True, True), ("false", "decline", True, False),
])  # fmt: skip
def test_elicitation_is_an_extra_look_never_the_gate(
    env: Env, setting: str, answer: str, runs: bool, asks: bool
) -> None:
    env.service = env.make_service(settings_for(env.sb, env.tmp, KLAVIYO_MCP_CONFIRM_WITH_ELICITATION=setting))
    unapproved = env.propose("create_list", name="Never without approval")
    action_id = env.propose("create_list", name="Confirm me")
    env.approve(action_id)
    asked: list[str] = []
    calls = [
        ("klaviyo_execute_action", {"action_id": unapproved}),
        ("klaviyo_execute_action", {"action_id": action_id}),
    ]
    callback = _elicitation(answer, asked)
    # A handshake ("legacy") session: the server can ask mid-call, as stdio clients allow today.
    gate, result = anyio.run(lambda: _mcp(env.service, calls, mode="legacy", elicitation_callback=callback))
    assert gate.structured_content["error"]["code"] == "APPROVAL_REQUIRED"  # asked nothing: not approved
    assert (len(asked) == 1) is asks and (not asks or "Confirm me" in asked[0])
    if runs:
        assert result.structured_content["data"]["status"] == "succeeded"
    else:
        assert result.structured_content["error"]["code"] == "CONFLICT" and "declined" in result.content[0].text
        assert env.ledger.get_proposal(action_id).status is ProposalStatus.APPROVED and env.writes() == []


@pytest.mark.parametrize("client", [{"mode": "legacy"}, {"elicitation_callback": _elicitation("decline", [])}])
def test_elicitation_is_skipped_when_the_question_cannot_be_put(env: Env, client: dict[str, Any]) -> None:
    """No elicitation capability, or a session with no server-to-client channel: approval suffices."""
    env.service = env.make_service(settings_for(env.sb, env.tmp, KLAVIYO_MCP_CONFIRM_WITH_ELICITATION="true"))
    action_id = env.propose("create_list", name="No elicitation")
    env.approve(action_id)
    (result,) = anyio.run(lambda: _mcp(env.service, [("klaviyo_execute_action", {"action_id": action_id})], **client))
    assert result.structured_content["data"]["status"] == "succeeded"


def _cli(env: Env, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    for key, value in environment(env.sb, env.tmp).items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_lists_shows_approves_and_rejects(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    one = env.propose("seed_demo_profiles", count=1, new_list_name="CLI list")
    two = env.propose("create_list", name="Rejected by CLI")
    code, out, _ = _cli(env, monkeypatch, "actions", "list", "--status", "pending")
    assert code == 0 and one in out and two in out
    code, out, _ = _cli(env, monkeypatch, "actions", "show", one)
    assert code == 0 and "POST /api/profile-import" in out and '"demo_is_vip": true' in out
    assert f"actions approve {one}" in out and "1 synthetic profiles" in out
    code, _, err = _cli(env, monkeypatch, "actions", "approve", one, "--as", "alice", "--reason", "ok")
    assert code == 1 and "interactive terminal" in err  # no TTY here; test_cli_terminal types the code
    env.approve(one, "alice")
    code, out, _ = _cli(env, monkeypatch, "actions", "reject", two, "--reason", "no")
    assert code == 0 and "rejected by cli:" in out
    decision = env.ledger.get_history(one).decision
    assert decision is not None and decision.approver == "alice"
    code, _, err = _cli(env, monkeypatch, "actions", "approve", two)
    assert code == 1 and err.startswith("CONFLICT:")
    code, out, _ = _cli(env, monkeypatch, "actions", "show", two, "--json")
    assert code == 0 and '"status": "rejected"' in out and '"warnings"' in out
    assert _cli(env, monkeypatch, "actions", "show", "act_nope")[0] == 1


def test_cli_names_the_ledger_it_read_and_the_hint_carries_ledger_path(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger_path = environment(env.sb, env.tmp)["KLAVIYO_MCP_LEDGER_PATH"]
    code, out, _ = _cli(env, monkeypatch, "actions", "list", "--status", "expired")
    assert code == 0 and out == f"no actions in the ledger {ledger_path} (KLAVIYO_MCP_LEDGER_PATH)\n"
    action_id = env.propose("create_list", name="Approved elsewhere")
    code, out, _ = _cli(env, monkeypatch, "actions", "show", action_id)
    # Without KLAVIYO_MCP_LEDGER_PATH in it, the approver's shell would read the per-user default ledger.
    assert (
        code == 0 and f"KLAVIYO_MCP_LEDGER_PATH={ledger_path} {paths.cli_command()} actions approve {action_id}" in out
    )


def test_the_cli_reads_a_postgresql_ledger_and_never_prints_its_password(
    sb: Sandbox, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test server trusts loopback, so any password connects; it must still never be printed.
    password = "pg-secret-password-0001"
    url = pg_url.replace("postgresql://klaviyo@", f"postgresql://klaviyo:{password}@", 1)
    assert password in url
    env = Env(sb, tmp_path, settings_for(sb, tmp_path, KLAVIYO_MCP_LEDGER_URL=url), {"KLAVIYO_MCP_LEDGER_URL": url})
    for key, value in environment(sb, tmp_path, KLAVIYO_MCP_LEDGER_URL=url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("KLAVIYO_MCP_LEDGER_PATH", raising=False)
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["actions", "list"], out, err) == 0
    assert out.getvalue() == f"no actions in the ledger {url.replace(password, '***')} (KLAVIYO_MCP_LEDGER_URL)\n"
    action_id = env.propose("create_list", name="Reviewed on PostgreSQL")
    shown = env.call("klaviyo_get_action", action_id=action_id)
    assert (
        f"KLAVIYO_MCP_LEDGER_URL=$KLAVIYO_MCP_LEDGER_URL {paths.cli_command()} actions approve {action_id}"
        in json.loads(json.dumps(shown))["data"]["approve"]
    )
    out = io.StringIO()
    assert cli_main(["actions", "reject", action_id, "--reason", "not now"], out, err) == 0
    assert "rejected by cli:" in out.getvalue() and password not in out.getvalue() + err.getvalue()
    assert env.ledger.get_proposal(action_id).status.value == "rejected"

"""An approval holds until the proposal's ``expires_at`` (created + KLAVIYO_MCP_ACTION_TTL_HOURS), through the
tools and REST as people use them: executing later is a CONFLICT that says to propose again, and
nothing reaches Klaviyo; an execution already under way is finished, never expired mid-run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from api import create_app
from klaviyo_sandbox import FaultConfig
from tests.actions.action_env import APPROVER_TOKEN, REST_TOKEN, Env
from tests.helpers import shown_plan_hash

READER = {"Authorization": f"Bearer {REST_TOKEN}"}
APPROVER = {"Authorization": f"Bearer {APPROVER_TOKEN}"}


@pytest.fixture
def http(env: Env) -> FlaskClient:
    return create_app(service=env.service).test_client()


def approved_action(env: Env, http: FlaskClient, name: str) -> str:
    action_id = env.propose("create_list", name=name)
    response = http.post(
        f"/v1/actions/{action_id}/approve",
        headers=APPROVER,
        json={"reason": "ok", "plan_hash": shown_plan_hash(env.ledger, action_id)},
    )
    assert response.status_code == 200 and response.json["data"]["status"] == "approved"
    return action_id


def ttl(env: Env) -> timedelta:
    return timedelta(hours=env.settings.action_ttl_hours)


def test_an_approved_action_run_after_its_expiry_is_refused_and_must_be_proposed_again(
    env: Env, http: FlaskClient
) -> None:
    action_id = approved_action(env, http, "Too late")
    env.clock.offset = ttl(env) + timedelta(seconds=1)
    refused = http.post(f"/v1/actions/{action_id}/execute", headers=READER)
    assert refused.status_code == 409, refused.json
    error = refused.json["error"]
    assert error["code"] == "CONFLICT" and error["details"]["status"] == "expired"
    assert "expired at" in error["message"] and "propose the change again" in error["message"]
    over_mcp = env.error("klaviyo_execute_action", action_id=action_id)  # the MCP tool: the same answer
    assert over_mcp.code == "CONFLICT" and over_mcp.details["status"] == "expired"
    shown = env.call("klaviyo_get_action", action_id=action_id)["data"]
    assert shown["status"] == "expired" and shown["history"][-1]["by"] == "system"
    assert env.writes() == []  # nothing was sent to Klaviyo


def test_an_approved_action_runs_until_its_expiry(env: Env, http: FlaskClient) -> None:
    action_id = approved_action(env, http, "Just in time")
    env.clock.offset = ttl(env) - timedelta(minutes=1)
    ran = http.post(f"/v1/actions/{action_id}/execute", headers=READER)
    assert ran.status_code == 200 and ran.json["data"]["status"] == "succeeded"
    assert [item["name"] for item in env.created()["lists"]] == ["Just in time"]


def test_an_execution_under_way_is_finished_after_the_expiry(env: Env, http: FlaskClient) -> None:
    action_id = env.propose("seed_demo_profiles", count=2, new_list_name="Half done")
    shown = {"plan_hash": shown_plan_hash(env.ledger, action_id)}
    assert http.post(f"/v1/actions/{action_id}/approve", headers=APPROVER, json=shown).status_code == 200
    # The list and profiles are created, then adding them to the list fails (retryable): half done.
    env.sb.set_faults(FaultConfig(error_rate=1.0, only_methods=frozenset({"POST"}), only_paths=("/api/lists/",)))
    failed = http.post(f"/v1/actions/{action_id}/execute", headers=READER)
    assert failed.status_code == 502 and failed.json["error"]["details"]["status"] == "approved"
    env.sb.set_faults(None)
    env.clock.offset = ttl(env) + timedelta(hours=1)
    listed = http.get("/v1/actions", headers=READER, query_string={"status": "approved"}).json["data"]["actions"]
    assert [row["action_id"] for row in listed] == [action_id]  # not expired by listing either
    resumed = http.post(f"/v1/actions/{action_id}/execute", headers=READER)
    assert resumed.status_code == 200 and resumed.json["data"]["status"] == "succeeded"
    state = env.created()
    assert len(state["lists"]) == 1 and len(state["profiles"]) == 2 and len(state["list_membership_changes"]) == 1

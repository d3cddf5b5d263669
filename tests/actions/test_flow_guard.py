"""Adding profiles to a list whose live flow sends: a BLOCKING warning, an explicit acknowledgement
to approve, and a second look at execute time. The sandbox records what a live "Added to List"
flow would have sent (``flow_sends``), so each test sees whether a send was set off."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from api import create_app
from klaviyo_analytics.actions import ProposalStatus
from klaviyo_analytics.actions.cli import main as cli_main
from klaviyo_analytics.errors import InvalidArgumentError, KlaviyoMCPError
from tests.actions.action_env import APPROVER_TOKEN, REST_TOKEN, Env, environment, settings_for

NEWSLETTER = "OxAUqq"  # acme's Newsletter: the live "Welcome Series" flow is triggered by it
WELCOME = "i0ZNc6"
VIP = "YEiTqa"  # no flow is triggered by it
ACK = ["live_flow_sends"]


def sends(env: Env) -> list[dict[str, Any]]:
    return env.created().get("flow_sends", [])


def profile_ids(env: Env, n: int = 2) -> list[str]:
    return [p["id"] for p in env.get("/api/profiles", **{"page[size]": str(n)})][:n]


def propose_add(env: Env, list_id: str = NEWSLETTER) -> dict[str, Any]:
    return env.call("klaviyo_propose_add_profiles_to_list", list_id=list_id, profile_ids=profile_ids(env))


def test_a_live_list_flow_blocks_the_proposal_until_acknowledged(env: Env) -> None:
    answer = propose_add(env)
    blocking = [w for w in answer["warnings"] if w.startswith("BLOCKING:")]
    assert len(blocking) == 1 and "'Welcome Series'" in blocking[0] and WELCOME in blocking[0]
    assert "live_flow_sends" in blocking[0]
    assert "--acknowledge live_flow_sends" in answer["data"]["approve"]  # how the approver accepts it
    step = answer["data"]["plan"][-1]
    assert step["guard"] == {
        "kind": "list_flows", "list_id": NEWSLETTER, "checked": True, "flows": [{"id": WELCOME, "name": "Welcome Series"}],
    }  # fmt: skip
    action_id = answer["data"]["action_id"]
    with pytest.raises(InvalidArgumentError) as refused:
        env.approve(action_id)
    assert refused.value.field == "acknowledge" and refused.value.details["required"] == ACK
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING
    with pytest.raises(InvalidArgumentError, match="unknown acknowledgement"):
        env.approve(action_id, acknowledge=["yes"])
    env.approve(action_id, acknowledge=ACK)
    decision = env.ledger.get_history(action_id).decision
    assert decision is not None and decision.reason == "reviewed [acknowledged: live_flow_sends]"
    env.call("klaviyo_execute_action", action_id=action_id)
    recorded = sends(env)
    assert {(s["flow_id"], s["profile_id"]) for s in recorded} == {(WELCOME, p) for p in profile_ids(env)}
    assert all(s["via"] == "add_profiles_to_list" and s["message_ids"] for s in recorded)


def test_a_list_without_live_flows_needs_no_acknowledgement(env: Env) -> None:
    answer = propose_add(env, VIP)
    assert not [w for w in answer["warnings"] if w.startswith("BLOCKING")]
    assert answer["data"]["plan"][-1]["guard"]["flows"] == [] and "acknowledge" not in answer["data"]["approve"]
    env.approve(answer["data"]["action_id"])  # no acknowledgement asked
    assert env.call("klaviyo_execute_action", action_id=answer["data"]["action_id"])["data"]["status"] == "succeeded"


def test_a_flow_turned_on_after_approval_stops_the_execution(env: Env) -> None:
    # The SMS Welcome flow of SMS Subscribers is archived and manual: nothing is sent, nothing asked.
    answer = propose_add(env, "CJEjrb")
    assert not [w for w in answer["warnings"] if w.startswith("BLOCKING")]
    action_id = answer["data"]["action_id"]
    env.approve(action_id)
    flow = next(f for f in env.sb.store.accounts["acme"].flows.values() if f.name == "SMS Welcome")
    flow.status, flow.archived = "live", False  # a person turns it on in Klaviyo meanwhile
    with pytest.raises(KlaviyoMCPError) as stopped:
        env.call("klaviyo_execute_action", action_id=action_id)
    assert stopped.value.code == "CONFLICT" and flow.id in stopped.value.message
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.FAILED
    assert "list_membership_changes" not in env.created() and sends(env) == []


def test_seeding_an_existing_list_is_guarded_before_any_profile_is_written(env: Env) -> None:
    answer = env.call("klaviyo_propose_seed_demo_profiles", count=2, list_id=NEWSLETTER)
    assert any(w.startswith("BLOCKING:") and "Welcome Series" in w for w in answer["warnings"])
    action_id = answer["data"]["action_id"]
    with pytest.raises(InvalidArgumentError):
        env.approve(action_id)
    env.approve(action_id, acknowledge=ACK)
    env.call("klaviyo_execute_action", action_id=action_id)
    assert len(sends(env)) == 2 and {s["email"] for s in sends(env)} == {p["email"] for p in env.created()["profiles"]}

    env.sb.reset()
    late = env.propose("seed_demo_profiles", count=2, list_id="CJEjrb")  # its flow is off: no warning
    env.approve(late)
    flow = next(f for f in env.sb.store.accounts["acme"].flows.values() if f.name == "SMS Welcome")
    flow.status, flow.archived = "live", False
    with pytest.raises(KlaviyoMCPError, match="did not acknowledge"):
        env.call("klaviyo_execute_action", action_id=late)
    assert env.created() == {}  # checked before the first profile was imported


def test_seeding_a_new_list_checks_its_flows_at_execute_time(env: Env) -> None:
    answer = env.call("klaviyo_propose_seed_demo_profiles", count=1, new_list_name="Fresh demo")
    assert not [w for w in answer["warnings"] if w.startswith("BLOCKING")]
    guard = answer["data"]["plan"][-1]["guard"]
    assert guard["list_id"] == {"$ref": "create_list.id"} and guard["flows"] == []
    env.approve(answer["data"]["action_id"])
    done = env.call("klaviyo_execute_action", action_id=answer["data"]["action_id"])
    list_id = done["data"]["created"]["create_list"]["id"]
    calls = [t["call"] for t in done["data"]["trace"] if t["step"] == "add_to_list"]
    assert calls[0].startswith(f"GET /api/lists/{list_id}/flow-triggers")


def test_a_key_that_cannot_read_flows_blocks_too(env: Env) -> None:
    acme = next(a for a in env.sb.accounts if a.slug == "acme")
    scopes = ["lists:read", "lists:write", "profiles:read", "profiles:write"]
    env.sb.add_key("acme", "pk_no_flows_0001", scopes=scopes)
    env.service = env.make_service(settings_for(env.sb, env.tmp, **{acme.key_env: "pk_no_flows_0001"}))
    answer = propose_add(env, VIP)
    assert any(w.startswith("BLOCKING: could not check") for w in answer["warnings"])
    assert answer["data"]["plan"][-1]["guard"]["checked"] is False
    action_id = answer["data"]["action_id"]
    with pytest.raises(InvalidArgumentError):
        env.approve(action_id)
    env.approve(action_id, acknowledge=ACK)  # the approver accepts not knowing
    assert env.call("klaviyo_execute_action", action_id=action_id)["data"]["status"] == "succeeded"


def test_rest_and_cli_approval_take_the_acknowledgement(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    http: FlaskClient = create_app(service=env.service).test_client()
    approver = {"Authorization": f"Bearer {APPROVER_TOKEN}"}
    proposed = propose_add(env)["data"]
    action_id, shown = proposed["action_id"], proposed["plan_hash"]
    url = f"/v1/actions/{action_id}/approve"
    refused = http.post(url, headers=approver, json={"reason": "ok", "plan_hash": shown})
    assert refused.status_code == 400 and refused.json["error"]["details"]["field"] == "acknowledge"
    assert http.post(url, headers=approver, json={"acknowledge": "live_flow_sends"}).status_code == 400
    approved = http.post(url, headers=approver, json={"reason": "ok", "acknowledge": ACK, "plan_hash": shown})
    assert approved.status_code == 200 and approved.json["data"]["status"] == "approved"
    ran = http.post(f"/v1/actions/{action_id}/execute", headers={"Authorization": f"Bearer {REST_TOKEN}"})
    assert ran.status_code == 200 and len(sends(env)) == 2

    other = propose_add(env)["data"]["action_id"]
    for key, value in environment(env.sb, env.tmp).items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["actions", "show", other], out, err) == 0 and "BLOCKING:" in out.getvalue()
    monkeypatch.setattr("klaviyo_analytics.actions.cli.confirm_at_terminal", lambda *a: None)
    assert cli_main(["actions", "approve", other], out, err) == 1 and "acknowledge" in err.getvalue()
    assert cli_main(["actions", "approve", other, "--acknowledge", "live_flow_sends"], out, err) == 0
    assert env.ledger.get_proposal(other).status is ProposalStatus.APPROVED


def test_a_plan_stored_without_a_guard_is_guarded_too(env: Env) -> None:
    """A plan proposed before guards existed (no ``guard`` on its add step) never adds members to a
    list with a live flow: execute treats it as acknowledging none."""
    from klaviyo_analytics.actions.recipes import add_members

    step = add_members(NEWSLETTER, "the Newsletter", profile_ids(env), {})[0]
    del step["guard"]
    old = env.ledger.create_proposal("acme", "add_profiles_to_list", {}, [step], "Add 2 profiles.", [], "mcp")
    env.approve(old.id)  # nothing to acknowledge: the plan names no flow
    with pytest.raises(KlaviyoMCPError, match="did not acknowledge"):
        env.call("klaviyo_execute_action", action_id=old.id)
    assert "list_membership_changes" not in env.created() and sends(env) == []

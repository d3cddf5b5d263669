"""klaviyo_propose_delete_flow and klaviyo_propose_update_flow: refusals, what is lost or changed, checked again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.actions.backends import open_ledger
from klaviyo_analytics.errors import ForbiddenError
from klaviyo_analytics.service import KlaviyoService
from klaviyo_analytics.tools import get_tool
from klaviyo_sandbox import FaultConfig, Sandbox
from tests.actions.action_env import Env, settings_for


def _flow(env: Env, status: str) -> dict[str, Any]:
    flows = env.get("/api/flows", filter=f"equals(status,'{status}')")
    return next(f for f in flows if not f["attributes"]["archived"])


def _set_status(env: Env, flow_id: str, status: str) -> None:
    """A person turns the flow on in Klaviyo (outside the product: straight into the sandbox's
    account, so the fixture's "the product never set a flow live" check stays meaningful)."""
    env.sb.store.accounts["acme"].flows[flow_id].status = status


def test_the_tool_is_annotated_destructive() -> None:
    assert get_tool("klaviyo_propose_delete_flow").destructive is True


def test_deleting_a_draft_flow_shows_what_is_lost_then_deletes_it_once(env: Env) -> None:
    flow = _flow(env, "draft")
    proposed = env.call("klaviyo_propose_delete_flow", flow_id=flow["id"])
    view = proposed["data"]
    assert f"Delete the flow {flow['attributes']['name']!r} ({flow['id']}) (draft) with its" in view["summary"]
    assert "messages: '" in view["summary"] and "in attributed revenue in the last 30 days" in view["summary"]
    assert any(w.startswith("DESTRUCTIVE") for w in proposed["warnings"])
    assert [(s["method"], s["precondition"]["kind"]) for s in view["plan"]] == [("DELETE", "flow_not_live")]
    assert "flow_deletions" not in env.created()
    env.approve(view["action_id"])
    done = env.call("klaviyo_execute_action", action_id=view["action_id"])["data"]
    assert done["status"] == "succeeded"
    assert [d["id"] for d in env.created()["flow_deletions"]] == [flow["id"]]
    assert [t["call"] for t in done["trace"]] == [f"GET /api/flows/{flow['id']}", f"DELETE /api/flows/{flow['id']}"]


def test_a_live_flow_is_refused(env: Env) -> None:
    error = env.error("klaviyo_propose_delete_flow", flow_id=_flow(env, "live")["id"])
    assert (error.code, error.details["field"]) == ("FORBIDDEN_ACTION", "flow_id")
    assert "klaviyo_propose_pause_flow" in error.message
    assert env.ledger.list_proposals(account="acme") == []


def test_an_unknown_flow_is_not_found(env: Env) -> None:
    error = env.error("klaviyo_propose_delete_flow", flow_id="NOPE42")
    assert (error.code, error.details["field"]) == ("NOT_FOUND", "flow_id")


def test_a_flow_turned_live_after_approval_is_not_deleted(env: Env) -> None:
    flow = _flow(env, "manual")
    action_id = env.propose("delete_flow", flow_id=flow["id"])
    env.approve(action_id)
    _set_status(env, flow["id"], "live")
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "CONFLICT" and "is live now" in error.message
    assert "flow_deletions" not in env.created()


def test_a_lost_delete_answer_is_not_an_error_on_retry(env: Env) -> None:
    flow = _flow(env, "draft")
    action_id = env.propose("delete_flow", flow_id=flow["id"])
    env.approve(action_id)
    env.sb.set_faults(FaultConfig(applied_error=1.0, only_methods=frozenset({"DELETE"}), only_paths=("/api/flows",)))
    first = env.error("klaviyo_execute_action", action_id=action_id)
    assert first.details["status"] == "approved"  # retryable: the delete may have landed
    env.sb.set_faults(None)
    done = env.call("klaviyo_execute_action", action_id=action_id)["data"]
    assert done["status"] == "succeeded" and done["created"]["delete_flow"]["found_existing"] is True
    assert len(env.created()["flow_deletions"]) == 1


def _new_draft(env: Env) -> tuple[str, list[dict[str, Any]]]:
    done = env.run("flow", recipe="welcome_series", trigger_id="YEiTqa", emails=2)["data"]
    flow_id = done["created"]["create_flow"]["id"]
    return flow_id, env.call("klaviyo_get_flow_structure", flow_id=flow_id)["data"]["steps"]


def test_editing_a_draft_flows_subject_and_wait(env: Env) -> None:
    flow_id, steps = _new_draft(env)
    email = next(s for s in steps if s["action_type"] == "send-email")
    wait = next(s for s in steps if s["action_type"] == "time-delay")
    proposed = env.call(
        "klaviyo_propose_update_flow", flow_id=flow_id, flow_action_id=email["flow_action_id"], subject="Hi!"
    )
    assert f"subject {email['subject']!r} → 'Hi!'" in proposed["data"]["summary"]
    env.approve(proposed["data"]["action_id"])
    assert env.call("klaviyo_execute_action", action_id=proposed["data"]["action_id"])["data"]["status"] == "succeeded"
    edited = env.run("update_flow", flow_id=flow_id, flow_action_id=wait["flow_action_id"], delay="3 days")["data"]
    assert "wait 1 day → wait 3 days" in edited["summary"]
    # read straight from Klaviyo: the product's read cache may still hold the structure from before
    message = env.get(f"/api/flow-actions/{email['flow_action_id']}")["attributes"]["definition"]["data"]["message"]
    assert message["subject_line"] == "Hi!"
    action = env.get(f"/api/flow-actions/{wait['flow_action_id']}")
    assert action["attributes"]["definition"]["data"]["value"] == 3
    assert env.get(f"/api/flows/{flow_id}")["attributes"]["status"] == "draft"


def test_edit_refusals_name_the_field(env: Env) -> None:
    flow_id, steps = _new_draft(env)
    email = next(s for s in steps if s["action_type"] == "send-email")["flow_action_id"]
    wait = next(s for s in steps if s["action_type"] == "time-delay")["flow_action_id"]
    live = _flow(env, "live")["id"]
    cases = [
        ({"flow_id": live, "flow_action_id": email, "subject": "x"}, "flow_id"),
        ({"flow_id": flow_id, "flow_action_id": email, "delay": "2 days"}, "subject"),
        ({"flow_id": flow_id, "flow_action_id": wait, "delay": "-2 days"}, "delay"),
        ({"flow_id": flow_id, "flow_action_id": email, "subject": "x" * 90}, "subject"),
        ({"flow_id": flow_id, "flow_action_id": "99999999", "subject": "x"}, "flow_action_id"),
    ]
    before = len(env.ledger.list_proposals(account="acme"))
    for args, field in cases:
        error = env.error("klaviyo_propose_update_flow", **args)
        expected = "NOT_FOUND" if "99999999" in args.values() else "INVALID_ARGUMENT"
        assert (error.code, error.details["field"]) == (expected, field), args
    assert len(env.ledger.list_proposals(account="acme")) == before


def test_with_two_person_approval_the_proposer_cannot_approve_a_delete(sb: Sandbox, tmp_path: Path) -> None:
    strict = Env(sb, tmp_path, settings_for(sb, tmp_path, KLAVIYO_MCP_REQUIRE_SECOND_APPROVER="true"))
    # the ledger as the servers open it from these settings (backends.open_ledger; Env's own ignores it)
    strict.service = KlaviyoService(strict.settings, strict.service.registry, strict.service.client,
                                    ledger=open_ledger(strict.settings))  # fmt: skip
    action_id = strict.propose("delete_flow", flow_id=_flow(strict, "draft")["id"])
    proposer = strict.ledger.get_proposal(action_id).proposed_by
    with pytest.raises(ForbiddenError, match="KLAVIYO_MCP_REQUIRE_SECOND_APPROVER"):
        strict.approve(action_id, who=proposer)
    strict.approve(action_id, who="approver:alice")
    assert strict.call("klaviyo_execute_action", action_id=action_id)["data"]["status"] == "succeeded"

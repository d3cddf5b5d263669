"""klaviyo_propose_delete_flow: destructive, refused for live flows, says what is lost, checked again."""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.sandbox import FaultConfig
from klaviyo_analytics.tools import get_tool
from tests.actions.action_env import Env


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


def test_an_unknown_flow_is_invalid(env: Env) -> None:
    error = env.error("klaviyo_propose_delete_flow", flow_id="NOPE42")
    assert (error.code, error.details["field"]) == ("INVALID_ARGUMENT", "flow_id")


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

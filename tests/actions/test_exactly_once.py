"""Exactly once under upstream failures (in one process): a 5xx mid-plan resumes after the last done
step; a create answered 500 but applied is found, not repeated; a 5xx create is checked before it is
sent again; a step that cannot succeed fails the action for good."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_analytics.actions import ExecutionStatus, ProposalStatus
from klaviyo_sandbox import FaultConfig
from tests.actions.action_env import Env, settings_for
from tests.actions.ledger_helpers import both_backends

__all__ = ["both_backends"]  # the fixture: exactly once on SQLite and on PostgreSQL


def calls(env: Env, method: str, path: str) -> list[dict[str, Any]]:
    return [e for e in env.sb.log() if e["method"] == method and e["path"] == path]


def fail_posts(env: Env, *paths: str, kind: str = "error_rate") -> None:
    env.sb.set_faults(FaultConfig(**{kind: 1.0}, only_methods=frozenset({"POST"}), only_paths=paths))


def test_a_5xx_mid_plan_resumes_after_the_last_done_step(env: Env) -> None:
    action_id = env.propose("seed_demo_profiles", count=3, new_list_name="Resume me")
    env.approve(action_id)
    fail_posts(env, "/api/lists/")  # the membership call only (create is POST /api/lists)
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "UPSTREAM_ERROR" and error.details["retryable"] is True
    assert error.details["status"] == "approved" and "execute it again" in error.message
    done = ["create_list", "import_profile_1", "import_profile_2", "import_profile_3"]
    assert error.details["completed_steps"] == sorted(done)
    execution = env.ledger.get_execution(action_id)
    assert execution is not None and execution.status is ExecutionStatus.AWAITING_RETRY
    assert [(e.step_id, e.status) for e in execution.journal][-2:] == [
        ("add_to_list", "started"),
        ("add_to_list", "failed"),
    ]

    env.sb.set_faults(None)
    answer = env.call("klaviyo_execute_action", action_id=action_id)
    assert answer["data"]["status"] == "succeeded"
    state = env.created()
    assert len(state["lists"]) == 1 and len(state["profiles"]) == 3 and len(state["list_membership_changes"]) == 1
    assert len(calls(env, "POST", "/api/lists")) == 1 and len(calls(env, "POST", "/api/profile-import")) == 3
    assert [h["to"] for h in answer["data"]["history"]] == [
        "pending", "approved", "executing", "approved", "executing", "succeeded"
    ]  # fmt: skip
    assert env.ledger.get_execution(action_id).attempts == 2  # type: ignore[union-attr]


def test_a_5xx_create_is_checked_before_it_is_sent_again(env: Env) -> None:
    action_id = env.propose("create_list", name="Checked first")
    env.approve(action_id)
    fail_posts(env, "/api/lists")  # answered 5xx and not applied
    before = len(env.sb.log())
    assert env.error("klaviyo_execute_action", action_id=action_id).details["retryable"] is True
    # The snapshot, the create; the ambiguous 5xx was checked at once (nothing new), and the action
    # went back to approved.
    first = [(e["method"], e["status"] >= 500) for e in env.sb.log()[before:]]
    assert first == [("GET", False), ("POST", True), ("GET", False)]
    env.sb.set_faults(None)
    before = len(env.sb.log())
    env.call("klaviyo_execute_action", action_id=action_id)
    assert [e["method"] for e in env.sb.log()[before:]] == ["GET", "POST"]  # checked (the new snapshot), created
    assert [item["name"] for item in env.created()["lists"]] == ["Checked first"]


CREATES = {
    "create_list": ({"name": 'Once "only" ≥ café'}, ("/api/lists",), {"lists": 1}),  # quoting in filters
    "segment": ({"recipe": "vip"}, ("/api/segments",), {"segments": 1}),
    "campaign_draft": (
        {"name": "Once", "audience_id": "YEiTqa", "subject": "Hi", "template_html": "<p>hi</p>"},
        ("/api/templates", "/api/campaigns", "/api/campaign-message-assign-template"),
        {"campaigns": 1, "templates": 2},  # the template and the copy Klaviyo assigns
    ),
}


@pytest.mark.parametrize("action", sorted(CREATES))
def test_a_create_applied_but_answered_500_is_found_not_repeated(env: Env, action: str) -> None:
    args, paths, expected = CREATES[action]
    action_id = env.propose(action, **args)
    env.approve(action_id)
    fail_posts(env, *paths, kind="applied_error")
    answer = env.call("klaviyo_execute_action", action_id=action_id)
    assert answer["data"]["status"] == "succeeded"
    assert {k: len(v) for k, v in env.created().items()} == expected
    for path in paths:
        assert [e["status"] for e in calls(env, "POST", path)] == [500]
    assert all(result["found_existing"] for result in answer["data"]["created"].values())
    if action == "campaign_draft":
        created = answer["data"]["created"]
        message = env.get(f"/api/campaign-messages/{created['create_campaign']['message_id']}")
        assert message["relationships"]["template"]["data"]["id"] == created["assign_template"]["template_id"]


def test_a_same_named_list_that_existed_when_proposed_is_not_taken_for_ours(env: Env) -> None:
    first = env.run("create_list", name="Twin")["data"]["created"]["create_list"]["id"]
    answer = env.call("klaviyo_propose_create_list", name="Twin")
    assert any("already exists" in w and first in w for w in answer["warnings"])
    env.approve(answer["data"]["action_id"])
    fail_posts(env, "/api/lists", kind="applied_error")
    ours = env.call("klaviyo_execute_action", action_id=answer["data"]["action_id"])["data"]["created"]["create_list"]
    assert ours["found_existing"] is True and ours["id"] != first
    assert [item["id"] for item in env.created()["lists"]] == [first, ours["id"]]


def test_a_same_named_list_made_after_the_proposal_is_in_the_snapshot_not_taken_for_ours(env: Env) -> None:
    action_id = env.propose("create_list", name="Crowded")
    env.approve(action_id)
    theirs = env.post_as_someone_else("/api/lists", {"data": {"type": "list", "attributes": {"name": "Crowded"}}})
    fail_posts(env, "/api/lists", kind="applied_error")
    ours = env.call("klaviyo_execute_action", action_id=action_id)["data"]["created"]["create_list"]
    assert ours["found_existing"] is True and ours["id"] != theirs
    assert len(env.created()["lists"]) == 2  # never a third


def test_a_step_that_cannot_succeed_fails_the_action(env: Env) -> None:
    env.sb.add_key("acme", "pk_sandbox_acme_readonly", scopes=["lists:read"])
    settings = settings_for(env.sb, env.tmp, KLAVIYO_ACME_KEY="pk_sandbox_acme_readonly", **env.extra)
    env.service = env.make_service(settings)
    action_id = env.propose("create_list", name="No scope")
    env.approve(action_id)
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "MISSING_SCOPE" and error.details["status"] == "failed"
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.FAILED
    again = env.error("klaviyo_execute_action", action_id=action_id)
    assert again.code == "CONFLICT" and "failed" in again.message
    assert env.created() == {} and len(calls(env, "POST", "/api/lists")) == 1

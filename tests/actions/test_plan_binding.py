"""Approval binds to what was shown (issue 23 item 2): the approver opened a benign proposal, its plan
was rewritten and rehashed in the database, the approver clicked Approve — and the rewritten plan ran.
Now the console form, the REST body and the CLI carry the plan hash the person saw, and the ledger
compares it with the plan as stored, in the approving transaction; execute re-checks the signature."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from api import create_app
from klaviyo_analytics.actions import ProposalStatus, plan_hash
from klaviyo_analytics.actions.cli import main as cli_main
from tests.actions.action_env import APPROVER_TOKEN, REST_TOKEN, Env, environment
from tests.actions.ledger_helpers import both_backends, raw_ledger
from tests.api.console.conftest import csrf_token, plan_hash_of, signed_in

__all__ = ["both_backends"]  # the fixture: every test here runs on SQLite and on PostgreSQL
APPROVER = {"Authorization": f"Bearer {APPROVER_TOKEN}"}
READER = {"Authorization": f"Bearer {REST_TOKEN}"}


def rewrite(env: Env, action_id: str) -> list[dict[str, Any]]:
    """What the attacker with database access did: a new plan, and its hash to match."""
    plan = [dict(step) for step in env.ledger.get_proposal(action_id).plan]
    plan[0]["body"]["data"]["attributes"]["name"] = "Rewritten by someone else"
    with raw_ledger(env.ledger) as conn:
        conn.execute(
            "UPDATE proposals SET plan = ?, plan_hash = ? WHERE id = ?",
            (json.dumps(plan, sort_keys=True, separators=(",", ":")), plan_hash(plan), action_id),
        )
    return plan


def test_rest_approve_needs_the_hash_and_refuses_a_plan_rewritten_after_it_was_shown(env: Env) -> None:
    http = create_app(service=env.service).test_client()
    action_id = env.propose("create_list", name="Benign")
    shown = http.get(f"/v1/actions/{action_id}", headers=READER).json["data"]["plan_hash"]
    url = f"/v1/actions/{action_id}/approve"
    missing = http.post(url, headers=APPROVER, json={"reason": "ok"})
    assert missing.status_code == 400 and missing.json["error"]["details"]["field"] == "plan_hash"
    assert http.post(url, headers=APPROVER, json={"plan_hash": 5}).status_code == 400
    rewrite(env, action_id)
    refused = http.post(url, headers=APPROVER, json={"reason": "ok", "plan_hash": shown})
    assert refused.status_code == 409, refused.json
    assert refused.json["error"]["details"]["field"] == "plan_hash"
    assert "not the one you were shown" in refused.json["error"]["message"]
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING
    assert env.ledger.get_history(action_id).decision is None
    assert env.writes() == []


def test_the_console_form_carries_the_hash_it_displayed(env: Env) -> None:
    app = create_app(service=env.service)
    approver = signed_in(app, APPROVER_TOKEN)
    action_id = env.propose("create_list", name="Benign")
    page = approver.get(f"/console/actions/{action_id}")
    shown = plan_hash_of(page.text)
    assert shown == plan_hash(env.ledger.get_proposal(action_id).plan) and shown in page.text
    rewrite(env, action_id)  # between the page and the click
    clicked = approver.post(
        f"/console/actions/{action_id}/decide",
        data={"csrf_token": csrf_token(page.text), "plan_hash": shown, "reason": "looks fine", "approve": "Approve"},
    )
    assert clicked.status_code == 409 and "not the one you were shown" in clicked.text
    assert "Rewritten by someone else" in clicked.text  # the page now shows the plan as it is
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING


def test_the_cli_shows_the_hash_and_takes_it_back(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in environment(env.sb, env.tmp, **env.extra).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("klaviyo_analytics.actions.cli.confirm_at_terminal", lambda *a, **k: None)
    action_id = env.propose("create_list", name="Benign")
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["actions", "show", action_id], out, err) == 0
    shown = plan_hash(env.ledger.get_proposal(action_id).plan)
    assert f"Plan hash (sha256; approving binds it): {shown}" in out.getvalue()
    rewrite(env, action_id)
    code = cli_main(["actions", "approve", action_id, "--as", "alice", "--plan-hash", shown], out, err)
    assert code == 1 and err.getvalue().startswith("CONFLICT:") and "plan_hash" in err.getvalue()
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING


def test_execute_refuses_a_plan_changed_after_approval(env: Env) -> None:
    action_id = env.propose("create_list", name="Benign")
    env.approve(action_id)
    rewrite(env, action_id)
    before = len(env.sb.log())
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "CONFLICT" and error.details["status"] == "approval_invalid"
    assert env.sb.log()[before:] == [] and env.ledger.get_execution(action_id) is None

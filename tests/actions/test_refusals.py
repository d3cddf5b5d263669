"""What never runs: unapproved, expired, rejected or tampered proposals, send jobs and live flows (even
in a forged plan), and bad input. And what never gets stored: an API key."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from klaviyo_analytics import paths
from klaviyo_analytics.actions import ProposalStatus
from klaviyo_sandbox import FaultConfig
from tests.actions.action_env import APPROVER_TOKEN, REST_TOKEN, Env, ledger_bytes
from tests.actions.ledger_helpers import raw_db


def test_execute_without_approval_says_exactly_how_to_approve(env: Env) -> None:
    action_id = env.propose("create_list", name="Waiting")
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "APPROVAL_REQUIRED"
    # The ledger here is KLAVIYO_MCP_LEDGER_PATH's, so the command names it (the CLI would read another otherwise).
    ledger = env.service.settings.ledger_path
    assert ledger is not None
    command = f"KLAVIYO_MCP_LEDGER_PATH={ledger} {paths.cli_command()} actions approve {action_id}"
    assert f"`{command}`" in error.message and error.details["approve_command"] == command
    # No console is configured for this ledger: no guessed link, but how to get one.
    assert "/console/" not in error.message and "approve_url" not in error.details
    assert "set KLAVIYO_MCP_PUBLIC_BASE_URL" in error.message
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING
    assert env.writes() == []


def test_an_expired_proposal_is_refused(env: Env) -> None:
    action_id = env.propose("create_list", name="Too late")
    env.clock.offset = timedelta(hours=24, seconds=1)
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "CONFLICT" and error.details["status"] == "expired"
    with pytest.raises(Exception, match="expired"):
        env.approve(action_id)
    assert env.writes() == []


def test_a_rejected_proposal_is_refused(env: Env) -> None:
    action_id = env.propose("create_list", name="No thanks")
    from klaviyo_analytics.actions.approvals import decide

    decide(env.ledger, action_id, False, "approver:bob", "not now")
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "CONFLICT" and "rejected" in error.message
    assert env.writes() == []


def test_a_plan_tampered_after_approval_is_refused(env: Env) -> None:
    action_id = env.propose("create_list", name="Harmless")
    env.approve(action_id)
    with raw_db(env.settings.resolved_ledger_path) as conn:
        plan = json.loads(conn.execute("SELECT plan FROM proposals WHERE id = ?", (action_id,)).fetchone()[0])
        plan[0]["body"]["data"]["attributes"]["name"] = "Something else"
        conn.execute("UPDATE proposals SET plan = ? WHERE id = ?", (json.dumps(plan), action_id))
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "CONFLICT" and error.details["status"] == "tampered"
    assert env.writes() == []


FORGED = {
    "send": {"step_id": "send", "method": "POST", "path": "/api/campaign-send-jobs",
             "body": {"data": {"type": "campaign-send-job", "id": "01KK24WV80TMNCB4T7DQRRQX10"}}},
    "live": {"step_id": "live", "method": "PATCH", "path": "/api/flows/{flow_id}", "path_params": {"flow_id": "YryDXD"},
             "body": {"data": {"type": "flow", "id": "YryDXD", "attributes": {"status": "live"}}}},
}  # fmt: skip


@pytest.mark.parametrize("forged", sorted(FORGED))
def test_a_forged_plan_never_sends_or_sets_a_flow_live(env: Env, forged: str) -> None:
    """Even a plan written straight into the ledger and approved cannot reach the denylist."""
    proposal = env.ledger.create_proposal("acme", "forged", {}, [FORGED[forged]], "forged", [], "attacker")
    env.approve(proposal.id)
    error = env.error("klaviyo_execute_action", action_id=proposal.id)
    assert error.code == "FORBIDDEN_ACTION" and error.details["status"] == "failed"
    assert env.sb.log() == [] and env.sb.state()["send_job_attempts"] == []
    assert env.created() == {}


def test_no_api_key_or_token_is_stored(env: Env) -> None:
    env.run("seed_demo_profiles", count=2, new_list_name="Secret check")
    env.run("campaign_draft", name="Secret", audience_id="YEiTqa", subject="s", template_html="<p>x</p>")
    failing = env.propose("create_list", name="Fails")
    env.approve(failing)
    env.sb.set_faults(FaultConfig(error_rate=1.0, only_methods=frozenset({"POST"})))
    env.error("klaviyo_execute_action", action_id=failing)
    stored = ledger_bytes(env.settings.resolved_ledger_path)
    api_key = next(a.api_key for a in env.sb.accounts if a.slug == "acme")
    for secret in (api_key, REST_TOKEN, APPROVER_TOKEN, "Klaviyo-API-Key"):
        assert secret.encode() not in stored
    for action in env.ledger.list_proposals():
        text = json.dumps([t.to_dict() for t in env.ledger.get_trace(action.id)])
        assert api_key not in text and "authorization" not in text.lower()
    assert len(env.ledger.get_trace(failing)) >= 2  # the failed attempts are traced too


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("seed_demo_profiles", {"count": 2, "new_list_name": "x", "domain": "gmail.com"}, "domain"),
    ("seed_demo_profiles", {"count": 101, "new_list_name": "x"}, "count"),
    ("seed_demo_profiles", {"count": 0, "new_list_name": "x"}, "count"),
    ("seed_demo_profiles", {"count": 2}, "list_id"),
    ("add_profiles_to_list", {"list_id": "OxAUqq", "emails": ["nobody.here@example.com"]}, "emails"),
    ("add_profiles_to_list", {"list_id": "OxAUqq", "profile_ids": ["NoSuchProfile"]}, "profile_ids"),
    ("add_profiles_to_list", {"list_id": "OxAUqq", "emails": ["not-an-email"]}, "emails.0"),
    ("add_profiles_to_list", {"list_id": "OxAUqq"}, "emails"),
    ("campaign_draft", {"name": "c", "audience_id": "YEiTqa", "subject": "   "}, "subject"),
    ("campaign_draft", {"name": "c", "audience_id": "YEiTqa", "subject": "s", "from_email": "me@"}, "from_email"),
    ("campaign_draft", {"name": "c", "audience_id": "../../x", "subject": "s"}, "audience_id"),
    ("create_list", {"name": ""}, "name"),
    ("create_list", {"name": "x", "opt_in_process": "triple"}, "opt_in_process"),
    ("segment", {"recipe": "whales"}, "recipe"),
    ("pause_flow", {"flow_id": "i0ZNc6", "status": "paused"}, "status"),
]


# Well-formed ids of objects the account does not hold: NOT_FOUND naming the field (the REST contract
# lets a schema-valid request be refused as 404, not as 400).
UNKNOWN = [
    ("seed_demo_profiles", {"count": 2, "list_id": "NoSuchList"}, "list_id"),
    ("add_profiles_to_list", {"list_id": "NoSuchList", "profile_ids": ["abc"]}, "list_id"),
    ("campaign_draft", {"name": "c", "audience_id": "Nowhere", "subject": "s"}, "audience_id"),
    ("segment", {"recipe": "vip", "metric_id": "NoMetric"}, "metric_id"),
    ("pause_flow", {"flow_id": "NoFlow"}, "flow_id"),
]


@pytest.mark.parametrize(("action", "args", "field"), UNKNOWN, ids=[f"{a}-{f}" for a, _, f in UNKNOWN])
def test_an_unknown_object_is_not_found_naming_the_field(
    env: Env, action: str, args: dict[str, Any], field: str
) -> None:
    error = env.error(f"klaviyo_propose_{action}", **args)
    assert (error.code, error.details.get("field")) == ("NOT_FOUND", field), error.message
    assert env.ledger.list_proposals() == [] and env.writes() == []


@pytest.mark.parametrize(("action", "args", "field"), BAD_INPUT, ids=[f"{a}-{f}" for a, _, f in BAD_INPUT])
def test_bad_input_is_invalid_argument_naming_the_field(
    env: Env, action: str, args: dict[str, Any], field: str
) -> None:
    error = env.error(f"klaviyo_propose_{action}", **args)
    assert (error.code, error.details.get("field")) == ("INVALID_ARGUMENT", field), error.message
    assert env.ledger.list_proposals() == [] and env.writes() == []


def test_unknown_emails_are_listed(env: Env) -> None:
    known = env.get("/api/profiles", **{"page[size]": "1"})[0]["attributes"]["email"]
    error = env.error(
        "klaviyo_propose_add_profiles_to_list",
        list_id="OxAUqq",
        emails=[known, "ghost.1@example.com", "ghost.2@example.com"],
    )
    assert error.details["unknown"] == ["ghost.1@example.com", "ghost.2@example.com"]
    assert "ghost.1@example.com" in error.message and known not in error.message


def test_with_a_console_configured_the_hint_links_its_page(env: Env) -> None:
    """KLAVIYO_MCP_PUBLIC_BASE_URL names the console serving this ledger: then, and only then, the link."""
    from dataclasses import replace

    env.service.settings = replace(env.service.settings, public_base_url="https://approve.example.com")
    action_id = env.propose("create_list", name="Linked")
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.details["approve_url"] == f"https://approve.example.com/console/actions/{action_id}"
    assert error.details["approve_endpoint"] == f"https://approve.example.com/v1/actions/{action_id}/approve"
    assert f"at https://approve.example.com/console/actions/{action_id}" in error.message
    assert "KLAVIYO_MCP_PUBLIC_BASE_URL" not in error.message

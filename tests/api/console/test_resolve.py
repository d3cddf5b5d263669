"""A step stopped in needs_attention is resolved by an approver on the action's page."""

from __future__ import annotations

from flask.testing import FlaskClient

from klaviyo_analytics.actions import ProposalStatus
from tests.actions.action_env import Env
from tests.actions.test_adoption import race
from tests.api.console.conftest import csrf_token


def stopped_for_a_person(env: Env) -> tuple[str, list[str]]:
    action_id = env.propose("create_list", name="Twice")
    env.approve(action_id)
    body = {"data": {"type": "list", "attributes": {"name": "Twice"}}}
    race(env, "/api/lists", lambda: env.post_as_someone_else("/api/lists", body) and None, applied=True)
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.details["status"] == "needs_attention"
    return action_id, list(error.details["candidates"])


def test_an_approver_adopts_the_object_the_step_made_from_the_console(approver: FlaskClient, env: Env) -> None:
    action_id, candidates = stopped_for_a_person(env)
    page = approver.get(f"/console/actions/{action_id}")
    assert page.status_code == 200 and "A step needs you" in page.text and "create_list" in page.text
    assert action_id in approver.get("/console/queue").text
    token = csrf_token(page.text)
    bad = approver.post(
        f"/console/actions/{action_id}/resolve",
        data={"csrf_token": token, "object_id": "../x", "note": "looked", "adopt": "adopt"},
    )
    assert bad.status_code == 400 and "must be a Klaviyo id" in bad.text
    done = approver.post(
        f"/console/actions/{action_id}/resolve",
        data={"csrf_token": token, "object_id": candidates[-1], "note": "the newer one is ours", "adopt": "adopt"},
    )
    assert done.status_code == 302
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.APPROVED
    env.service = env.make_service()
    answer = env.call("klaviyo_execute_action", action_id=action_id)["data"]
    assert answer["status"] == "succeeded" and answer["created"]["create_list"]["id"] == candidates[-1]


def test_a_reader_cannot_resolve(reader: FlaskClient, env: Env) -> None:
    action_id, _ = stopped_for_a_person(env)
    page = reader.get(f"/console/actions/{action_id}")
    assert "an approver resolves this" in page.text
    forged = reader.post(
        f"/console/actions/{action_id}/resolve",
        data={"csrf_token": csrf_token(page.text), "note": "sneaky", "abandon": "abandon"},
    )
    assert forged.status_code == 403
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.NEEDS_ATTENTION

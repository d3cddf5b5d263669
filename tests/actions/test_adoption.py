"""Execute never adopts an object it cannot prove it created (adoption.py).

A create whose answer is lost is judged against the same-named objects listed just before it was
sent: somebody else's same-named object (another proposal's campaign, a person's list) is never
taken for ours; doubt stops the action in needs_attention, which only a person resolves.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import httpx

from klaviyo_analytics.actions import ExecutionStatus, ProposalStatus
from tests.actions.action_env import Env, environment
from tests.actions.test_cli_terminal import REPO
from tests.actions.test_exactly_once import calls, fail_posts
from tests.terminal import run_on_tty, shown_code


def two_lists(env: Env) -> tuple[str, str]:
    ids = [item["id"] for item in env.get("/api/lists")]
    return ids[0], ids[1]


def campaign_body(name: str, audience: str) -> dict[str, Any]:
    message = {"type": "campaign-message", "attributes": {"definition": {"channel": "email", "label": name,
               "content": {"subject": "Theirs", "from_email": "them@example.com"}}}}  # fmt: skip
    attributes = {"name": name, "audiences": {"included": [audience]}, "campaign-messages": {"data": [message]}}
    return {"data": {"type": "campaign", "attributes": attributes}}


class Racer(httpx.BaseTransport):
    """Before the product's create reaches Klaviyo, ``before`` runs (someone else's write); then
    the create is applied or not, and its answer is lost (a dropped connection)."""

    def __init__(self, inner: httpx.BaseTransport, path: str, before: Callable[[], None], applied: bool) -> None:
        self.inner, self.path, self.before, self.applied = inner, path, before, applied

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == self.path:
            self.before()
            if self.applied:
                self.inner.handle_request(request).read()
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return self.inner.handle_request(request)


def race(env: Env, path: str, before: Callable[[], None], applied: bool) -> None:
    env.service = env.make_service(wrap=lambda inner: Racer(inner, path, before, applied))


def test_a_dropped_campaign_create_never_adopts_the_same_named_campaign_of_another_proposal(env: Env) -> None:
    first_list, second_list = two_lists(env)
    args = {"name": "Twin", "subject": "Hi", "template_html": "<p>hi</p>"}
    first = env.propose("campaign_draft", audience_id=first_list, **args)
    second = env.propose("campaign_draft", audience_id=second_list, **args)
    env.approve(first)
    env.approve(second)
    made = env.call("klaviyo_execute_action", action_id=first)["data"]["created"]
    template_before = env.get(f"/api/campaign-messages/{made['create_campaign']['message_id']}")["relationships"]

    fail_posts(env, "/api/campaigns", kind="drop")
    error = env.error("klaviyo_execute_action", action_id=second)
    assert error.details["status"] == "approved" and error.details["retryable"] is True  # not "succeeded"
    assert env.ledger.get_proposal(second).status is ProposalStatus.APPROVED
    message = env.get(f"/api/campaign-messages/{made['create_campaign']['message_id']}")
    assert message["relationships"] == template_before  # the first campaign's message is untouched
    assert calls(env, "POST", "/api/campaign-message-assign-template")[-1]["status"] < 300  # only the first's

    env.sb.set_faults(None)
    ours = env.call("klaviyo_execute_action", action_id=second)["data"]["created"]["create_campaign"]
    assert ours["id"] != made["create_campaign"]["id"] and "found_existing" not in ours
    assert len(env.created()["campaigns"]) == 2


def test_a_dropped_list_create_never_adopts_a_persons_same_named_list(env: Env) -> None:
    action_id = env.propose("seed_demo_profiles", count=2, new_list_name="Theirs")
    theirs = env.post_as_someone_else("/api/lists", {"data": {"type": "list", "attributes": {"name": "Theirs"}}})
    env.approve(action_id)
    fail_posts(env, "/api/lists", kind="drop")
    assert env.error("klaviyo_execute_action", action_id=action_id).details["status"] == "approved"
    env.sb.set_faults(None)
    ours = env.call("klaviyo_execute_action", action_id=action_id)["data"]["created"]["create_list"]["id"]
    assert ours != theirs
    changes = env.created()["list_membership_changes"]
    assert {change["list_id"] for change in changes} == {ours}  # nothing added to the person's list


def test_one_new_object_that_differs_from_the_plan_stops_for_a_person(env: Env) -> None:
    first_list, second_list = two_lists(env)
    action_id = env.propose("campaign_draft", name="Raced", audience_id=first_list, subject="Hi")
    env.approve(action_id)
    # between our snapshot and our create, someone makes a same-named campaign for another list; ours drops
    race(env, "/api/campaigns", lambda: env.post_as_someone_else("/api/campaigns", campaign_body("Raced", second_list)),
         applied=False)  # fmt: skip
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "CONFLICT" and error.details["status"] == "needs_attention"
    assert "differs from the planned one" in error.message and "actions resolve" in error.message
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.NEEDS_ATTENTION
    execution = env.ledger.get_execution(action_id)
    assert execution is not None and execution.status is ExecutionStatus.NEEDS_ATTENTION
    again = env.error("klaviyo_execute_action", action_id=action_id)
    assert again.code == "CONFLICT" and "resolve it first" in again.message


def test_two_new_objects_stop_for_a_person_who_resolves_it_at_a_terminal(env: Env) -> None:
    action_id = env.propose("seed_demo_profiles", count=1, new_list_name="Two")
    env.approve(action_id)
    body = {"data": {"type": "list", "attributes": {"name": "Two"}}}
    made: list[str] = []
    race(env, "/api/lists", lambda: made.append(env.post_as_someone_else("/api/lists", body)), applied=True)
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.details["status"] == "needs_attention" and len(error.details["candidates"]) == 2
    assert "list_membership_changes" not in env.created()  # nothing added to either list
    ours = next(i for i in error.details["candidates"] if i not in made)

    shell = {**os.environ, **environment(env.sb, env.tmp), "USER": "carol", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "klaviyo_analytics", "actions", "resolve", action_id, "--adopt", ours]
    code, text = run_on_tty([*argv, "--note", "checked in Klaviyo"], shell, shown_code)
    assert code == 0 and f"{action_id} approved (adopt) by cli:carol" in text, text

    env.service = env.make_service()
    answer = env.call("klaviyo_execute_action", action_id=action_id)["data"]
    assert answer["status"] == "succeeded" and answer["created"]["create_list"]["id"] == ours
    assert {change["list_id"] for change in env.created()["list_membership_changes"]} == {ours}
    assert any(h["to"] == "needs_attention" for h in answer["history"])
    assert any("adopt" in (h["note"] or "") and h["by"] == "cli:carol" for h in answer["history"])


def test_resolve_none_sends_again_and_abandon_fails_for_good(env: Env) -> None:
    first_list, second_list = two_lists(env)
    ids = [env.propose("campaign_draft", name=f"Raced {n}", audience_id=first_list, subject="Hi") for n in (1, 2)]
    for n, action_id in enumerate(ids, start=1):
        env.approve(action_id)
        body = campaign_body(f"Raced {n}", second_list)
        race(env, "/api/campaigns", lambda body=body: env.post_as_someone_else("/api/campaigns", body), applied=False)
        env.error("klaviyo_execute_action", action_id=action_id)
    env.service = env.make_service()
    resumed = env.ledger.resolve(ids[0], "none", "approver:alice", note="ours never landed")
    assert resumed.status is ProposalStatus.APPROVED
    assert env.call("klaviyo_execute_action", action_id=ids[0])["data"]["status"] == "succeeded"
    abandoned = env.ledger.resolve(ids[1], "abandon", "approver:alice")
    assert abandoned.status is ProposalStatus.FAILED
    assert env.error("klaviyo_execute_action", action_id=ids[1]).code == "CONFLICT"


def test_proposals_warn_about_a_same_named_proposal_not_yet_run(env: Env) -> None:
    first = env.propose("create_list", name="Dup")
    answer = env.call("klaviyo_propose_create_list", name="Dup")
    assert any(first in w and "list named 'Dup'" in w and "makes two" in w for w in answer["warnings"])
    seeded = env.call("klaviyo_propose_seed_demo_profiles", count=1, new_list_name="Dup")
    assert any(first in w and answer["data"]["action_id"] in w for w in seeded["warnings"])
    assert not any("not yet run" in w for w in env.call("klaviyo_propose_create_list", name="Other")["warnings"])


def test_a_wrong_adopted_id_stops_again_and_the_latest_answer_counts(env: Env) -> None:
    action_id = env.propose("create_list", name="Retry me")
    env.approve(action_id)
    body = {"data": {"type": "list", "attributes": {"name": "Retry me"}}}
    race(env, "/api/lists", lambda: env.post_as_someone_else("/api/lists", body) and None, applied=True)
    candidates = env.error("klaviyo_execute_action", action_id=action_id).details["candidates"]
    env.service = env.make_service()
    env.ledger.resolve(action_id, "adopt", "approver:alice", "NoSuchList1")
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.details["status"] == "needs_attention" and "does not exist" in error.message
    env.ledger.resolve(action_id, "adopt", "approver:alice", candidates[0])
    answer = env.call("klaviyo_execute_action", action_id=action_id)["data"]
    assert answer["status"] == "succeeded" and answer["created"]["create_list"]["id"] == candidates[0]

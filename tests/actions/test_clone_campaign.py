"""klaviyo_propose_clone_campaign end to end on the sandbox: the approver sees what changes, the clone
lands once as a Draft with the asked audience and subject, nothing is scheduled, a lost answer
adopts only a clone it can prove is ours, and bad input is refused before anything is stored."""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.actions import ProposalStatus
from tests.actions.action_env import Env
from tests.actions.test_adoption import race


def sent_campaign(env: Env, channel: str = "email") -> Any:
    acme = env.sb.store.accounts["acme"]
    return next(c for c in acme.campaigns.values() if c.status == "Sent" and c.channel == channel)


def vip_list(env: Env, with_phone: bool = True) -> str:
    acme = env.sb.store.accounts["acme"]
    rec = next(iter(acme.lists.values()))
    members = [p for p in acme.profiles.values() if bool(p.attributes.get("phone_number")) == with_phone]
    rec.members = {p.id for p in members[:5]}
    return rec.id


def test_the_proposal_shows_the_diff_and_writes_nothing(env: Env) -> None:
    source = sent_campaign(env)
    audience = vip_list(env)
    answer = env.call(
        "klaviyo_propose_clone_campaign", campaign_id=source.id, new_name="Again for VIPs", audience_id=audience,
        subject="Back by demand",
    )  # fmt: skip
    view, warnings = answer["data"], answer["warnings"]
    changes = next(w for w in warnings if w.startswith("Changes from the source"))
    old_subject = env.sb.store.accounts["acme"].messages[source.message_ids[0]].definition["content"]["subject"]
    assert "→ 'Again for VIPs'" in changes and audience in changes
    assert f"subject {old_subject!r} → 'Back by demand'" in changes
    assert any(w.startswith("Stays as in the source: ") and "sender" in w for w in warnings)
    assert [s["step_id"] for s in view["plan"]] == ["clone_campaign", "set_audience", "set_subject"]
    assert view["plan"][0]["body"]["data"] == {
        "type": "campaign",
        "id": source.id,
        "attributes": {"new_name": "Again for VIPs"},
    }
    assert "Draft" in view["summary"] and env.writes() == []


def test_executed_once_it_lands_as_an_unscheduled_draft_with_the_new_audience(env: Env) -> None:
    source = sent_campaign(env)
    audience = vip_list(env)
    answer = env.run("clone_campaign", campaign_id=source.id, new_name="Again", audience_id=audience, subject="New")
    assert answer["data"]["status"] == "succeeded"
    clone_id = answer["data"]["created"]["clone_campaign"]["id"]
    clone = env.get(f"/api/campaigns/{clone_id}")["attributes"]
    assert clone["status"] == "Draft" and clone["send_time"] is None and clone["scheduled_at"] is None
    assert clone["audiences"]["included"] == [audience]
    assert clone["audiences"]["excluded"] == source.audiences["excluded"]
    message_id = answer["data"]["created"]["clone_campaign"]["message_id"]
    assert env.get(f"/api/campaign-messages/{message_id}")["attributes"]["definition"]["content"]["subject"] == "New"
    state = env.created()
    assert [c["cloned_from"] for c in state["campaigns"]] == [source.id]
    assert env.sb.state()["send_job_attempts"] == []
    again = env.error("klaviyo_execute_action", action_id=answer["data"]["action_id"])
    assert "exactly once" in str(again) and len(env.created()["campaigns"]) == 1


def test_a_lost_clone_answer_adopts_the_clone_but_never_a_persons_same_named_campaign(env: Env) -> None:
    source = sent_campaign(env)
    action_id = env.propose("clone_campaign", campaign_id=source.id, new_name="Weekly again")
    env.approve(action_id)
    race(env, "/api/campaign-clone", before=lambda: None, applied=True)
    created = env.call("klaviyo_execute_action", action_id=action_id)["data"]["created"]["clone_campaign"]
    assert created.get("found_existing") and len(env.created()["campaigns"]) == 1

    other = env.propose("clone_campaign", campaign_id=source.id, new_name="Person's twin")
    env.approve(other)
    body = {"data": {"type": "campaign", "id": source.id, "attributes": {"new_name": "Person's twin"}}}
    env.post_as_someone_else("/api/campaign-clone", body)  # a person's same-named clone, made first
    race(env, "/api/campaign-clone", before=lambda: None, applied=False)
    assert env.error("klaviyo_execute_action", action_id=other).details["retryable"] is True
    env.service = env.make_service()
    ours = env.call("klaviyo_execute_action", action_id=other)["data"]["created"]["clone_campaign"]
    assert "found_existing" not in ours and len(env.created()["campaigns"]) == 3


def test_bad_input_is_refused_before_anything_is_stored(env: Env) -> None:
    sms = sent_campaign(env, "sms")
    email = sent_campaign(env)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"campaign_id": "NoSuchCampaign1"}, "campaign_id"),
        ({"campaign_id": sms.id, "subject": "Hi"}, "subject"),
        ({"campaign_id": email.id, "new_name": "x" * 256}, "new_name"),
        ({"campaign_id": sms.id, "audience_id": vip_list(env, with_phone=False)}, "audience_id"),
        ({"campaign_id": email.id, "audience_id": "NoSuchList"}, "audience_id"),
    ]
    for args, field in cases:
        error = env.error("klaviyo_propose_clone_campaign", **args)
        assert error.details.get("field") == field, (args, error)
    assert env.ledger.list_proposals(status=ProposalStatus.PENDING) == [] and env.writes() == []

"""Roles and accounts over REST: each user sees and reaches only their granted accounts, at their role."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_analytics.actions import ProposalStatus
from tests.auth.conftest import Team, auth
from tests.helpers import shown_plan_hash

PROPOSE = "/v1/actions/propose/create-list"


def propose(team: Team, user: str, account: str = "acme", name: str = "Team list") -> str:
    answer = team.http.post(PROPOSE, json={"account": account, "name": name}, headers=auth(user))
    assert answer.status_code == 200, answer.json
    return str(answer.json["data"]["action_id"])


def error(answer: Any, status: int = 403, code: str = "FORBIDDEN") -> dict[str, Any]:
    assert answer.status_code == status, answer.json
    body: dict[str, Any] = answer.json["error"]
    assert body["code"] == code
    return body


def test_list_accounts_shows_only_granted_accounts(team: Team) -> None:
    def names(user: str) -> list[str]:
        answer = team.http.get("/v1/accounts", headers=auth(user))
        assert answer.status_code == 200
        return [a["name"] for a in answer.json["data"]["accounts"]]

    assert names("rita") == ["acme"]
    assert names("gina") == ["globex"]
    assert names("paul") == ["acme", "globex"]
    assert names("wally") == ["acme", "globex"]
    assert names("zoe") == []
    # The only account rita may see is her default, though two are configured.
    only = team.http.get("/v1/accounts", headers=auth("rita")).json["data"]["accounts"][0]
    assert only["is_default"] is True


def test_another_account_answers_like_no_account(team: Team) -> None:
    granted = team.http.get("/v1/flows?account=acme", headers=auth("rita"))
    assert granted.status_code == 200 and granted.json["metadata"]["account"] == "acme"
    other = error(team.http.get("/v1/flows?account=globex", headers=auth("rita")))
    missing = error(team.http.get("/v1/flows?account=initech", headers=auth("rita")))
    assert other["message"].replace("globex", "X") == missing["message"].replace("initech", "X")
    assert other["details"] == missing["details"] == {"field": "account", "available_accounts": ["acme"]}
    assert "globex" not in str(missing)  # nothing names an account rita may not see
    # No Klaviyo call was made for globex on rita's behalf.
    globex_key = next(a.api_key for a in team.sb.accounts if a.slug == "globex")
    assert not [e for e in team.sb.log() if globex_key in str(e)]


def test_an_omitted_account_is_the_only_granted_one(team: Team) -> None:
    answer = team.http.get("/v1/flows", headers=auth("rita"))
    assert answer.status_code == 200 and answer.json["metadata"]["account"] == "acme"
    assert error(team.http.get("/v1/flows", headers=auth("zoe")))["message"] == "no Klaviyo account is granted to zoe"
    several = error(team.http.get("/v1/flows", headers=auth("paul")), 400, "INVALID_ARGUMENT")
    assert several["details"]["allowed"] == ["acme", "globex"]


def test_a_user_who_sees_every_account_gets_unknown_account(team: Team) -> None:
    # Nothing is hidden from wally, so a typo keeps its helpful error.
    unknown = error(team.http.get("/v1/flows?account=initech", headers=auth("wally")), 404, "UNKNOWN_ACCOUNT")
    assert unknown["details"]["available_accounts"] == ["acme", "globex"]


def test_reader_cannot_propose(team: Team) -> None:
    refused = error(team.http.post(PROPOSE, json={"account": "acme", "name": "Nope"}, headers=auth("rita")))
    assert refused["details"] == {"account": "acme", "required_role": "proposer", "role": "reader"}
    assert team.ledger.list_proposals() == []
    # paul proposes on acme, but only reads globex.
    error(team.http.post(PROPOSE, json={"account": "globex", "name": "Nope"}, headers=auth("paul")))
    assert team.ledger.list_proposals() == []
    action_id = propose(team, "paul")
    assert team.ledger.get_proposal(action_id).proposed_by == "paul"


def shown(team: Team, action_id: str) -> dict[str, str]:
    return {"plan_hash": shown_plan_hash(team.ledger, action_id)}


def test_proposer_cannot_approve_and_approver_is_recorded(team: Team) -> None:
    action_id = propose(team, "paul")
    url = f"/v1/actions/{action_id}/approve"
    refused = error(team.http.post(url, headers=auth("paul")))
    assert "approver role" in refused["message"] and refused["details"]["role"] == "proposer"
    error(team.http.post(url, headers=auth("rita")))
    assert team.ledger.get_proposal(action_id).status is ProposalStatus.PENDING

    approved = team.http.post(url, headers=auth("ann"), json={"reason": "fine", **shown(team, action_id)})
    assert approved.status_code == 200 and approved.json["data"]["status"] == "approved"
    decision = team.ledger.get_history(action_id).decision
    assert decision is not None and decision.approver == "ann"
    # A reader may not execute; the proposer may, once.
    error(team.http.post(f"/v1/actions/{action_id}/execute", headers=auth("rita")))
    done = team.http.post(f"/v1/actions/{action_id}/execute", headers=auth("paul"))
    assert done.status_code == 200, done.json
    assert done.json["data"]["status"] == "succeeded"


def test_actions_of_another_account_answer_like_no_action(team: Team) -> None:
    action_id = propose(team, "paul")
    missing_id = "act_" + "0" * (len(action_id) - 4) if action_id.startswith("act_") else "0" * len(action_id)
    for method, suffix in (("get", ""), ("post", "/execute"), ("post", "/approve"), ("post", "/reject")):
        call = getattr(team.http, method)
        other = error(call(f"/v1/actions/{action_id}{suffix}", headers=auth("gina")))
        missing = call(f"/v1/actions/{missing_id}{suffix}", headers=auth("gina"))
        assert missing.status_code == 403, (suffix, missing.json)
        assert other["message"].replace(action_id, "X") == missing.json["error"]["message"].replace(missing_id, "X")
        assert other["details"] == missing.json["error"]["details"]
    assert team.ledger.get_proposal(action_id).status is ProposalStatus.PENDING
    # rita reads acme, so she may look at it; gina's list of actions does not show it.
    seen = team.http.get(f"/v1/actions/{action_id}", headers=auth("rita"))
    assert seen.status_code == 200 and seen.json["data"]["action_id"] == action_id
    listed = team.http.get("/v1/actions", headers=auth("gina"))
    assert listed.status_code == 200 and listed.json["data"]["actions"] == []
    assert [a["action_id"] for a in team.http.get("/v1/actions", headers=auth("wally")).json["data"]["actions"]] == [
        action_id
    ]
    error(team.http.get("/v1/actions?account=acme", headers=auth("gina")))


def test_list_actions_merges_every_granted_account(team: Team) -> None:
    on_acme = propose(team, "ann", "acme", "A")
    on_globex = propose(team, "gina", "globex", "G")
    rows = team.http.get("/v1/actions", headers=auth("paul")).json["data"]["actions"]
    assert [r["action_id"] for r in rows] == [on_globex, on_acme]  # newest first, both of paul's accounts
    assert [r["action_id"] for r in team.http.get("/v1/actions", headers=auth("ann")).json["data"]["actions"]] == [
        on_acme
    ]
    limited = team.http.get("/v1/actions?limit=1", headers=auth("paul")).json["data"]["actions"]
    assert [r["action_id"] for r in limited] == [on_globex]


def test_tokens_not_in_the_users_file_are_refused(team: Team) -> None:
    error(team.http.get("/v1/accounts", headers={"Authorization": "Bearer someone-elses-token-0123"}))
    assert team.http.get("/v1/accounts").status_code == 401


def test_health_reports_the_auth_component(team: Team) -> None:
    public = team.http.get("/health")
    assert public.status_code == 200 and public.json["components"]["auth"] == {"status": "ok"}
    assert team.http.get("/health/details", headers=auth("rita")).status_code == 403  # a reader: no details
    answer = team.http.get("/health/details", headers=auth("ann"))
    assert answer.status_code == 200
    assert answer.json["components"]["auth"] == {"status": "ok", "source": "users file", "users": 6, "tokens": 6}
    assert "rita" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("team", [{"KLAVIYO_MCP_REQUIRE_SECOND_APPROVER": "true"}], indirect=True)
def test_a_second_person_approves_when_required(team: Team) -> None:
    own = propose(team, "ann")
    refused = error(team.http.post(f"/v1/actions/{own}/approve", headers=auth("ann"), json=shown(team, own)))
    assert "KLAVIYO_MCP_REQUIRE_SECOND_APPROVER" in refused["message"]
    assert team.ledger.get_proposal(own).status is ProposalStatus.PENDING
    assert team.http.post(f"/v1/actions/{own}/reject", headers=auth("ann")).status_code == 200
    other = propose(team, "paul")
    assert (
        team.http.post(f"/v1/actions/{other}/approve", headers=auth("ann"), json=shown(team, other)).status_code == 200
    )


def test_without_the_setting_an_approver_may_approve_their_own(team: Team) -> None:
    own = propose(team, "ann")
    assert team.http.post(f"/v1/actions/{own}/approve", headers=auth("ann"), json=shown(team, own)).status_code == 200

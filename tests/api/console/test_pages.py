"""The approval console through Flask's test client: sign-in, roles, decisions, and its protections
(session cookie flags, CSRF, CSP, inert account text)."""

from __future__ import annotations

import stat
from dataclasses import replace

from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.auth import fingerprint
from api.console import CSP
from klaviyo_analytics.actions import ProposalStatus
from tests.actions.action_env import APPROVER_TOKEN, REST_TOKEN, Env
from tests.api.console.conftest import csrf_token, plan_hash_of, signed_in
from tests.helpers import shown_plan_hash

HOSTILE = "<script>alert(1)</script>\u202eevil"


def test_pages_need_a_sign_in_and_a_valid_token(app: Flask, env: Env) -> None:
    action_id = env.propose("create_list", name="VIP")
    client = app.test_client()
    away = client.get(f"/console/actions/{action_id}")
    assert away.status_code == 302 and away.headers["Location"].startswith("/console/sign-in?next=/console/actions/")
    page = client.get("/console/sign-in")
    wrong = client.post("/console/sign-in", data={"csrf_token": csrf_token(page.text), "token": "not-a-token-0000"})
    assert wrong.status_code == 401 and "not valid" in wrong.text
    assert client.get("/console/queue").status_code == 302
    # The JSON API's token check does not apply to the console, and still applies everywhere else.
    assert client.get("/v1/actions").status_code == 401


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(app: Flask, env: Env) -> None:
    action_id = env.propose("create_list", name="VIP")
    for target, expected in (
        (f"/console/actions/{action_id}", f"/console/actions/{action_id}"),
        ("https://evil.example/console/", "/console/queue"),
        ("//evil.example/console/x", "/console/queue"),
    ):
        client = app.test_client()
        page = client.get("/console/sign-in")
        answer = client.post(
            "/console/sign-in", query_string={"next": target},
            data={"csrf_token": csrf_token(page.text), "token": APPROVER_TOKEN},
        )  # fmt: skip
        assert answer.headers["Location"] == expected


def test_session_cookie_is_httponly_samesite_and_secure_over_tls(app: Flask, env: Env) -> None:
    client = app.test_client()
    page = client.get("/console/sign-in")
    answer = client.post("/console/sign-in", data={"csrf_token": csrf_token(page.text), "token": APPROVER_TOKEN})
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback
    tls = app.test_client()
    page = tls.get("/console/sign-in", base_url="https://console.example")
    answer = tls.post(
        "/console/sign-in", base_url="https://console.example",
        headers={"Referer": "https://console.example/console/sign-in"},
        data={"csrf_token": csrf_token(page.text), "token": APPROVER_TOKEN},
    )  # fmt: skip
    assert answer.status_code == 302 and "; Secure" in answer.headers["Set-Cookie"]
    forced = create_app(service=env.make_service(replace(env.settings, console_secure_cookies=True)))
    page = forced.test_client().get("/console/sign-in")
    assert "; Secure" in page.headers["Set-Cookie"]  # behind a TLS-ending proxy


def test_every_console_page_sends_a_strict_csp(approver: FlaskClient, env: Env) -> None:
    action_id = env.propose("create_list", name="VIP")
    for path in ("/console/sign-in", "/console/queue", f"/console/actions/{action_id}", "/console/history"):
        response = approver.get(path)
        assert response.status_code == 200, path
        policy = response.headers["Content-Security-Policy"]
        assert policy == CSP and "default-src 'self'" in policy and "script-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy and response.headers["X-Frame-Options"] == "DENY"
        assert "<script" not in response.text and " on" + "click" not in response.text


def test_a_post_without_the_csrf_token_is_refused(approver: FlaskClient, env: Env) -> None:
    action_id = env.propose("create_list", name="VIP")
    forged = approver.post(f"/console/actions/{action_id}/decide", data={"reason": "ok", "approve": "Approve"})
    assert forged.status_code == 400 and "security token" in forged.text
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING
    # The JSON API is not under CSRF: an approver token still approves over REST.
    rest = approver.post(
        f"/v1/actions/{action_id}/approve", headers={"Authorization": f"Bearer {APPROVER_TOKEN}"},
        json={"plan_hash": shown_plan_hash(env.ledger, action_id)},
    )  # fmt: skip
    assert rest.status_code == 200 and env.ledger.get_proposal(action_id).status is ProposalStatus.APPROVED


def test_approve_needs_a_reason_and_records_the_approver(approver: FlaskClient, env: Env) -> None:
    action_id = env.propose("create_list", name="VIP")
    page = approver.get(f"/console/actions/{action_id}")
    token = csrf_token(page.text)
    blank = approver.post(
        f"/console/actions/{action_id}/decide",
        data={"csrf_token": token, "plan_hash": plan_hash_of(page.text), "reason": " ", "approve": "Approve"},
    )
    assert blank.status_code == 400 and "Say why" in blank.text
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING
    done = approver.post(
        f"/console/actions/{action_id}/decide",
        data={"csrf_token": token, "plan_hash": plan_hash_of(page.text), "reason": "fits Q3", "approve": "Approve"},
    )
    assert done.status_code == 302
    decision = env.ledger.get_history(action_id).decision
    assert decision is not None and decision.approved
    assert (decision.approver, decision.reason) == (fingerprint(APPROVER_TOKEN), "fits Q3")
    again = approver.get(done.headers["Location"])
    assert "Approved." in again.text and 'name="approve"' not in again.text


def test_a_reader_sees_no_decision_form_and_a_forged_post_gets_403(reader: FlaskClient, env: Env) -> None:
    action_id = env.propose("create_list", name="VIP")
    page = reader.get(f"/console/actions/{action_id}")
    assert page.status_code == 200 and "VIP" in page.text
    assert 'name="approve"' not in page.text and "read-only" in page.text
    forged = reader.post(
        f"/console/actions/{action_id}/decide",
        data={"csrf_token": csrf_token(page.text), "plan_hash": "0" * 64, "reason": "sneaky", "approve": "Approve"},
    )
    assert forged.status_code == 403
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING


def test_account_text_is_escaped_and_hidden_characters_are_shown(approver: FlaskClient, env: Env) -> None:
    action_id = env.propose("create_list", name=HOSTILE)
    for path in (f"/console/actions/{action_id}", "/console/queue"):
        html = approver.get(path).text
        assert "<script>" not in html and "\u202e" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "U+202E</span>evil" in approver.get(f"/console/actions/{action_id}").text


def test_a_removed_token_ends_its_sessions(app: Flask, env: Env) -> None:
    client = signed_in(app, APPROVER_TOKEN)
    assert client.get("/console/queue").status_code == 200
    revoked = replace(env.settings, approver_tokens=("another-approver-token-01",))
    app_after = create_app(service=env.make_service(revoked))
    cookie = client.get_cookie("klaviyo_console", path="/console")
    assert cookie is not None
    later = app_after.test_client()
    later.set_cookie(cookie.key, cookie.value, path="/console")
    assert later.get("/console/queue").status_code == 302


def test_the_session_key_lives_in_a_0600_file_next_to_the_ledger(app: Flask, env: Env) -> None:
    path = env.settings.resolved_ledger_path.parent / "console_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text()) >= 32
    # A second app (another worker) signs with the same key: a session from one works on the other.
    client = signed_in(app, REST_TOKEN)
    cookie = client.get_cookie("klaviyo_console", path="/console")
    assert cookie is not None
    other = create_app(service=env.make_service()).test_client()
    other.set_cookie(cookie.key, cookie.value, path="/console")
    assert other.get("/console/queue").status_code == 200


def test_history_shows_the_trace_and_links_into_klaviyo(approver: FlaskClient, env: Env) -> None:
    ran = env.run("create_list", name="Spring VIPs")
    list_id = ran["data"]["created"]["create_list"]["id"]
    rejected = env.propose("create_list", name="Not this one")
    page = approver.get(f"/console/actions/{rejected}")
    approver.post(
        f"/console/actions/{rejected}/decide",
        data={"csrf_token": csrf_token(page.text), "reason": "duplicate", "reject": "Reject"},
    )
    html = approver.get("/console/history").text
    assert "POST /api/lists" in html and f"https://www.klaviyo.com/list/{list_id}/members" in html
    assert "Rejected by" in html and "duplicate" in html
    only_failed = approver.get("/console/history", query_string={"status": "failed"}).text
    assert "Spring VIPs" not in only_failed and "Nothing here yet" in only_failed
    assert approver.get("/console/history", query_string={"status": "bogus"}).status_code == 404


def test_users_sign_in_with_a_password_and_the_page_follows_their_role(users_env: Env) -> None:
    from tests.api.console.conftest import ANALYST_PASSWORD, LEAD_PASSWORD

    app = create_app(service=users_env.service)
    action_id = users_env.propose("create_list", name="VIP")
    page = app.test_client().get("/console/sign-in")
    assert 'name="username"' in page.text and 'name="password"' in page.text
    wrong = app.test_client()
    form = wrong.get("/console/sign-in")
    refused = wrong.post(
        "/console/sign-in",
        data={"csrf_token": csrf_token(form.text), "username": "lead", "password": "not-the-password"},
    )
    assert refused.status_code == 401

    analyst = signed_in(app, username="analyst", password=ANALYST_PASSWORD)
    seen = analyst.get(f"/console/actions/{action_id}")
    assert seen.status_code == 200 and 'name="approve"' not in seen.text and "read-only" in seen.text
    assert ">reader<" in seen.text
    forged = analyst.post(
        f"/console/actions/{action_id}/decide",
        data={"csrf_token": csrf_token(seen.text), "plan_hash": "0" * 64, "reason": "let me", "approve": "Approve"},
    )
    assert forged.status_code == 403
    assert users_env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING

    lead = signed_in(app, username="lead", password=LEAD_PASSWORD)
    page = lead.get(f"/console/actions/{action_id}")
    assert 'name="approve"' in page.text
    lead.post(
        f"/console/actions/{action_id}/decide",
        data={
            "csrf_token": csrf_token(page.text),
            "plan_hash": plan_hash_of(page.text),
            "reason": "ok for spring",
            "approve": "Approve",
        },
    )
    decision = users_env.ledger.get_history(action_id).decision
    assert decision is not None and decision.approver == "lead"  # the user, as the REST route records


def test_a_proposer_cannot_decide_their_own_proposal_when_a_second_approver_is_required(env: Env) -> None:
    strict = create_app(service=env.make_service(replace(env.settings, require_second_approver=True)))
    own = env.call("klaviyo_propose_create_list", caller=fingerprint(APPROVER_TOKEN), account="acme", name="Mine")
    action_id = own["data"]["action_id"]
    client = signed_in(strict, APPROVER_TOKEN)
    page = client.get(f"/console/actions/{action_id}")
    refused = client.post(
        f"/console/actions/{action_id}/decide",
        data={
            "csrf_token": csrf_token(page.text),
            "plan_hash": plan_hash_of(page.text),
            "reason": "mine",
            "approve": "Approve",
        },
    )
    assert refused.status_code == 403 and "KLAVIYO_MCP_REQUIRE_SECOND_APPROVER" in refused.text
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING


def test_a_plan_that_starts_live_flows_needs_the_acknowledgement_box(approver: FlaskClient, env: Env) -> None:
    profiles = [p["id"] for p in env.get("/api/profiles", **{"page[size]": "1"})][:1]
    action_id = env.propose("add_profiles_to_list", list_id="OxAUqq", profile_ids=profiles)  # Welcome Series is live
    plain = approver.get(f"/console/actions/{env.propose('create_list', name='No flows')}")
    assert 'name="acknowledge"' not in plain.text
    page = approver.get(f"/console/actions/{action_id}")
    assert "BLOCKING:" in page.text and 'name="acknowledge"' in page.text
    token = csrf_token(page.text)
    url = f"/console/actions/{action_id}/decide"
    unticked = approver.post(
        url, data={"csrf_token": token, "plan_hash": plan_hash_of(page.text), "reason": "ok", "approve": "Approve"}
    )
    assert unticked.status_code == 400 and "live_flow_sends" in unticked.text
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING
    ticked = approver.post(
        url,
        data={
            "csrf_token": token,
            "plan_hash": plan_hash_of(page.text),
            "reason": "ok",
            "approve": "Approve",
            "acknowledge": "y",
        },
    )
    assert ticked.status_code == 302 and env.ledger.get_proposal(action_id).status is ProposalStatus.APPROVED


def test_a_clone_shows_its_diff_is_approved_in_the_console_and_lands_once_as_a_draft(
    approver: FlaskClient, env: Env
) -> None:
    acme = env.sb.store.accounts["acme"]
    source = next(c for c in acme.campaigns.values() if c.status == "Sent" and c.channel == "email")
    audience = next(iter(acme.segments))
    action_id = env.propose("clone_campaign", campaign_id=source.id, new_name="Console clone", audience_id=audience)
    page = approver.get(f"/console/actions/{action_id}")
    assert "Changes from the source: name" in page.text and "Stays as in the source: subject" in page.text
    assert "POST /api/campaign-clone" in page.text or "/api/campaign-clone" in page.text
    done = approver.post(
        f"/console/actions/{action_id}/decide",
        data={"csrf_token": csrf_token(page.text), "plan_hash": plan_hash_of(page.text), "reason": "rerun",
              "approve": "Approve"},
    )  # fmt: skip
    assert done.status_code == 302
    ran = env.call("klaviyo_execute_action", action_id=action_id)["data"]
    clone = acme.campaigns[ran["created"]["clone_campaign"]["id"]]
    assert (clone.status, clone.send_time, clone.audiences["included"]) == ("Draft", None, [audience])
    assert len(env.created()["campaigns"]) == 1

"""Bulk subscribe and unsubscribe jobs: 202, consent on the profile, list membership, flows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from klaviyo_sandbox import Sandbox

from .helpers import error_of, post

NEWSLETTER, DOUBLE_OPT_IN = "OxAUqq", "CJEjrb"  # acme: single opt-in with a live flow; double opt-in
SUBSCRIBE, UNSUBSCRIBE = "/api/profile-subscription-bulk-create-jobs", "/api/profile-subscription-bulk-delete-jobs"


def _profile(email: str | None = None, consent: str = "SUBSCRIBED", **extra: Any) -> dict[str, Any]:
    channels: dict[str, Any] = {"email": {"marketing": {"consent": consent, **extra.pop("marketing", {})}}}
    if extra.pop("sms", False):
        channels["sms"] = {"marketing": {"consent": consent}}
    attributes = {"email": email, "subscriptions": channels, **extra}
    return {"type": "profile", "attributes": {k: v for k, v in attributes.items() if v is not None}}


def _job(kind: str, profiles: list[dict[str, Any]], list_id: str | None = None, **attributes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"profile-subscription-bulk-{kind}-job",
        "attributes": {"profiles": {"data": profiles}, **attributes},
    }
    if list_id:
        body["relationships"] = {"list": {"data": {"type": "list", "id": list_id}}}
    return body


def _consent(client: httpx.Client, email: str) -> dict[str, Any]:
    found = client.get(
        "/api/profiles", params={"filter": f'equals(email,"{email}")', "additional-fields[profile]": "subscriptions"}
    ).json()["data"]
    assert len(found) == 1
    subscriptions: dict[str, Any] = found[0]["attributes"]["subscriptions"]
    return subscriptions


def test_subscribing_to_a_single_opt_in_list_adds_members_and_starts_its_flows(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    jobs = [_profile("new.one@example.com"), _profile("new.two@example.com")]
    answer = post(client, SUBSCRIBE, _job("create", jobs, NEWSLETTER, custom_source="Spring fair"))
    assert answer.status_code == 202 and answer.content == b""
    consent = _consent(client, "new.one@example.com")["email"]["marketing"]
    assert consent["consent"] == "SUBSCRIBED" and consent["method_detail"] == "Spring fair"
    members = sandbox.store.accounts["acme"].lists[NEWSLETTER].members
    state = sandbox.state()["accounts"]["acme"]
    assert len(state["profiles"]) == 2 and {p["id"] for p in state["profiles"]} <= members
    assert [s["via"] for s in state["flow_sends"]] == ["bulk_subscribe_profiles"] * 2  # the Welcome Series
    again = post(client, SUBSCRIBE, _job("create", jobs, NEWSLETTER))
    assert again.status_code == 202 and len(sandbox.state()["accounts"]["acme"]["flow_sends"]) == 2  # members once


def test_historical_import_bypasses_the_flows_and_needs_a_past_consented_at(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    past = _profile("old@example.com", marketing={"consented_at": "2024-05-01T00:00:00Z"})
    assert post(client, SUBSCRIBE, _job("create", [past], NEWSLETTER, historical_import=True)).status_code == 202
    assert sandbox.state()["accounts"]["acme"]["flow_sends"] == []
    assert _consent(client, "old@example.com")["email"]["marketing"]["consent_timestamp"].startswith("2024-05-01")
    refused = post(client, SUBSCRIBE, _job("create", [past], NEWSLETTER))  # consented_at without historical_import
    assert refused.status_code == 400 and "historical_import" in error_of(refused)["detail"]
    future = _profile("later@example.com", marketing={"consented_at": "2099-01-01T00:00:00Z"})
    assert post(client, SUBSCRIBE, _job("create", [future], historical_import=True)).status_code == 400


def test_a_double_opt_in_list_sends_a_confirmation_instead_of_adding(sandbox: Sandbox, client: httpx.Client) -> None:
    assert post(client, SUBSCRIBE, _job("create", [_profile("maybe@example.com")], DOUBLE_OPT_IN)).status_code == 202
    state = sandbox.state()["accounts"]["acme"]
    pid = state["profiles"][0]["id"]
    assert [c["profile_id"] for c in state["opt_in_confirmations"]] == [pid]
    assert pid not in sandbox.store.accounts["acme"].lists[DOUBLE_OPT_IN].members


def test_unsubscribe_leaves_the_list_or_unsubscribes_globally(sandbox: Sandbox, client: httpx.Client) -> None:
    post(client, SUBSCRIBE, _job("create", [_profile("member@example.com"), _profile("other@example.com")]))
    acc = sandbox.store.accounts["acme"]
    member = next(p for p in acc.profiles.values() if p.attributes.get("email") == "member@example.com")
    acc.lists[NEWSLETTER].members.add(member.id)
    gone = [_profile("member@example.com", "UNSUBSCRIBED"), _profile("other@example.com", "UNSUBSCRIBED")]
    assert post(client, UNSUBSCRIBE, _job("delete", gone, NEWSLETTER)).status_code == 202
    assert member.id not in acc.lists[NEWSLETTER].members
    assert _consent(client, "member@example.com")["email"]["marketing"]["consent"] == "SUBSCRIBED"  # list only
    other = _consent(client, "other@example.com")["email"]["marketing"]
    assert other["consent"] == "UNSUBSCRIBED" and other["can_receive_email_marketing"] is False  # not on it: global
    assert post(client, SUBSCRIBE, _job("create", [_profile("other@example.com")])).status_code == 202
    assert _consent(client, "other@example.com")["email"]["marketing"]["consent"] == "SUBSCRIBED"  # lifted again


@pytest.mark.parametrize(
    ("path", "profiles", "pointer"),
    [
        (SUBSCRIBE, [], "/data/attributes/profiles/data"),
        (SUBSCRIBE, [_profile("x@example.com")] * 1001, "/data/attributes/profiles/data"),
        (UNSUBSCRIBE, [_profile("x@example.com", "UNSUBSCRIBED")] * 101, "/data/attributes/profiles/data"),
        (SUBSCRIBE, [_profile("x@example.com", "UNSUBSCRIBED")], "/data/attributes/profiles/data/0/attributes/"
         "subscriptions/email/marketing/consent"),
        (SUBSCRIBE, [_profile("x@example.com", phone_number="555-1234")],
         "/data/attributes/profiles/data/0/attributes/phone_number"),
        (SUBSCRIBE, [_profile(None, sms=True)], "/data/attributes/profiles/data/0/attributes"),
        (SUBSCRIBE, [{"type": "profile", "attributes": {"email": "x@example.com"}}],
         "/data/attributes/profiles/data/0/attributes/subscriptions"),
    ],
)  # fmt: skip
def test_job_bodies_are_checked(client: httpx.Client, path: str, profiles: list[Any], pointer: str) -> None:
    kind = "create" if path == SUBSCRIBE else "delete"
    refused = post(client, path, _job(kind, profiles))
    assert refused.status_code == 400 and error_of(refused)["source"] == {"pointer": pointer}


def test_an_unknown_list_is_404(client: httpx.Client) -> None:
    assert post(client, SUBSCRIBE, _job("create", [_profile("x@example.com")], "NoSuchList")).status_code == 404

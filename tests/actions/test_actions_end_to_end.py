"""Every action, proposed, approved and executed against the sandbox: Klaviyo ends up holding exactly
the objects the plan describes — and nothing at all is written before approval."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_analytics.actions import ProposalStatus
from klaviyo_analytics.actions.recipes import demo_emails
from tests.actions.action_env import Env, spec_checker


def flows_by_status(env: Env, status: str) -> list[dict[str, Any]]:
    return [f for f in env.get("/api/flows") if f["attributes"]["status"] == status]


def test_proposing_writes_nothing_and_shows_the_plan(env: Env) -> None:
    answer = env.call("klaviyo_propose_create_list", name="VIP", opt_in_process="double_opt_in")
    view = answer["data"]
    assert view["status"] == "pending" and view["action_id"].startswith("act_")
    assert view["plan"] == [
        {
            "step_id": "create_list",
            "note": "Create the list 'VIP'",
            "method": "POST",
            "path": "/api/lists",
            "body": {"data": {"type": "list", "attributes": {"name": "VIP", "opt_in_process": "double_opt_in"}}},
        }
    ]
    assert "double opt in" in view["summary"]
    assert f"actions approve {view['action_id']}" in view["approve"]
    assert "/console/" not in view["approve"] and "KLAVIYO_MCP_PUBLIC_BASE_URL" in view["approve"]
    assert view["expires_at"] > view["history"][0]["at"]
    assert view["history"] == [{"at": view["history"][0]["at"], "by": "mcp", "to": "pending", "note": None}]
    assert env.writes() == [] and env.created() == {}


def test_create_list(env: Env) -> None:
    answer = env.run("create_list", name="VIP", opt_in_process="double_opt_in")
    list_id = answer["data"]["created"]["create_list"]["id"]
    assert answer["data"]["status"] == "succeeded"
    assert env.created() == {
        "lists": [
            {"id": list_id, "name": "VIP", "opt_in_process": "double_opt_in", "time": env.created()["lists"][0]["time"]}
        ]
    }
    assert [h["to"] for h in answer["data"]["history"]] == ["pending", "approved", "executing", "succeeded"]
    assert [h["by"] for h in answer["data"]["history"]] == ["mcp", "approver:alice", "mcp", "mcp"]


def test_seed_demo_profiles_into_a_new_list(env: Env) -> None:
    answer = env.run("seed_demo_profiles", count=3, new_list_name="VIP demo", spend_90d=300)
    created = answer["data"]["created"]
    list_id = created["create_list"]["id"]
    profile_ids = [created[f"import_profile_{i}"]["id"] for i in (1, 2, 3)]
    state = env.created()
    assert set(state) == {"lists", "profiles", "list_membership_changes"}
    assert [item["id"] for item in state["lists"]] == [list_id]
    emails = demo_emails("acme", "VIP demo", 3, "example.com")
    assert [(p["id"], p["email"]) for p in state["profiles"]] == list(zip(profile_ids, emails, strict=True))
    assert all(e.startswith(f"vip.demo.{i}.") and e.endswith("@example.com") for i, e in enumerate(emails, 1))
    assert [(m["list_id"], m["profile_ids"]) for m in state["list_membership_changes"]] == [(list_id, profile_ids)]
    profile = env.get(f"/api/profiles/{profile_ids[2]}")
    assert profile["attributes"]["properties"] == {
        "demo_spend_90d": 350.0, "demo_is_vip": True, "demo_seeded_by": "klaviyo-mcp"
    }  # fmt: skip


def test_seeding_again_updates_the_same_profiles(env: Env) -> None:
    first = env.run("seed_demo_profiles", count=2, list_id="YEiTqa")
    again = env.call("klaviyo_propose_seed_demo_profiles", count=2, list_id="YEiTqa")
    assert "2 of these demo profiles already exist" in " ".join(again["warnings"])
    env.approve(again["data"]["action_id"])
    second = env.call("klaviyo_execute_action", action_id=again["data"]["action_id"])
    state = env.created()
    assert "lists" not in state and len(state["profiles"]) == 2 and len(state["profile_updates"]) == 2
    ids = [first["data"]["created"][f"import_profile_{i}"]["id"] for i in (1, 2)]
    assert [second["data"]["created"][f"import_profile_{i}"]["id"] for i in (1, 2)] == ids
    assert [(m["list_id"], m["profile_ids"]) for m in state["list_membership_changes"]] == [("YEiTqa", ids)] * 2


def test_add_profiles_to_list_by_email_and_id(env: Env) -> None:
    profiles = env.get("/api/profiles", **{"page[size]": "3"})
    emails = [profiles[0]["attributes"]["email"].upper(), profiles[1]["attributes"]["email"]]
    answer = env.run("add_profiles_to_list", list_id="YEiTqa", emails=emails, profile_ids=[profiles[2]["id"]])
    assert "3 existing profiles" in answer["data"]["summary"] and "'VIP Customers'" in answer["data"]["summary"]
    assert [(m["list_id"], m["profile_ids"]) for m in env.created()["list_membership_changes"]] == [
        ("YEiTqa", [p["id"] for p in profiles])
    ]


def test_memberships_go_in_batches_of_at_most_1000(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from klaviyo_analytics.actions import plans

    monkeypatch.setattr(plans, "MEMBERSHIP_BATCH", 2)
    profiles = env.get("/api/profiles", **{"page[size]": "5"})
    answer = env.run("add_profiles_to_list", list_id="YEiTqa", profile_ids=[p["id"] for p in profiles])
    assert [s["step_id"] for s in answer["data"]["plan"]] == ["add_to_list_1", "add_to_list_2", "add_to_list_3"]
    changes = env.created()["list_membership_changes"]
    assert [len(c["profile_ids"]) for c in changes] == [2, 2, 1]
    monkeypatch.undo()
    assert [len(b) for b in plans.batches(list(range(2500)))] == [1000, 1000, 500]


def test_campaign_draft_with_a_template_assigned(env: Env) -> None:
    html = "<html><body><h1>VIP Early Access</h1>{% unsubscribe %}</body></html>"
    answer = env.run(
        "campaign_draft", name="VIP Early Access", audience_id="YEiTqa", subject="VIP Early Access: 20% off",
        preview_text="For you first", template_html=html,
    )  # fmt: skip
    created = answer["data"]["created"]
    campaign_id, message_id = created["create_campaign"]["id"], created["create_campaign"]["message_id"]
    state = env.created()
    assert set(state) == {"campaigns", "templates"}
    assert [c["id"] for c in state["campaigns"]] == [campaign_id]
    original, copy = state["templates"]
    assert original["id"] == created["create_template"]["id"] and original["editor_type"] == "CODE"
    assert copy["copied_from"] == original["id"] and copy["message_id"] == message_id
    assert created["assign_template"]["template_id"] == copy["id"]
    campaign = env.get(f"/api/campaigns/{campaign_id}")
    assert campaign["attributes"]["status"] == "Draft"
    assert campaign["attributes"]["audiences"]["included"] == ["YEiTqa"]
    message = env.get(f"/api/campaign-messages/{message_id}")
    assert message["attributes"]["definition"]["content"] | {} == {
        "subject": "VIP Early Access: 20% off", "preview_text": "For you first",
        "from_email": "hello@acme-outdoor.example", "from_label": "Acme Outdoor Co.",
        "reply_to_email": None, "cc_email": None, "bcc_email": None,
    }  # fmt: skip
    assert message["relationships"]["template"]["data"]["id"] == copy["id"]
    assert env.sb.state()["send_job_attempts"] == []
    assert any("Draft" in w for w in answer["warnings"])


def test_campaign_draft_without_template_for_a_segment(env: Env) -> None:
    answer = env.run(
        "campaign_draft", name="Win them back", audience_id="EzkNdM", subject="We miss you",
        from_email="team@acme.example", from_label="Acme team", reply_to_email="help@acme.example",
    )  # fmt: skip
    assert [s["step_id"] for s in answer["data"]["plan"]] == ["create_campaign"]
    assert "the segment 'Churn Risk' (EzkNdM)" in answer["data"]["summary"]
    assert set(env.created()) == {"campaigns"}
    assert not any(e["path"].startswith("/api/accounts") for e in env.sb.log())  # sender given: no lookup


@pytest.mark.parametrize("recipe", ["vip", "winback"])
def test_segment_recipes(env: Env, recipe: str) -> None:
    metric = env.service.account("acme").conversion_metric_id
    answer = env.run("segment", recipe=recipe, min_value=300, days=60)
    (segment,) = env.created()["segments"]
    assert segment["id"] == answer["data"]["created"]["create_segment"]["id"]
    groups = [g["conditions"] for g in segment["definition"]["condition_groups"]]
    last_60 = {"type": "date", "operator": "in-the-last", "unit": "day", "quantity": 60}
    if recipe == "vip":
        assert groups == [[{
            "type": "profile-metric", "metric_id": metric, "measurement": "sum",
            "measurement_filter": {"type": "numeric", "operator": "greater-than-or-equal", "value": 300},
            "timeframe_filter": last_60, "metric_filters": None,
        }]]  # fmt: skip
        assert segment["name"] == "VIP: Placed Order >= 300 in 60 days"
    else:
        assert [
            (c[0]["measurement"], c[0]["measurement_filter"]["operator"], c[0]["timeframe_filter"]) for c in groups
        ] == [
            ("count", "greater-than", {"type": "date", "operator": "alltime"}),
            ("count", "equals", last_60),
        ]
        assert {c[0]["metric_id"] for c in groups} == {metric}


def test_pause_flow(env: Env) -> None:
    live = flows_by_status(env, "live")[0]
    answer = env.run("pause_flow", flow_id=live["id"])
    assert "from live to manual" in answer["data"]["summary"]
    assert [(c["flow_id"], c["previous"], c["status"]) for c in env.created()["flow_status_changes"]] == [
        (live["id"], "live", "manual")
    ]
    assert env.get(f"/api/flows/{live['id']}")["attributes"]["status"] == "manual"


def test_pausing_a_paused_flow_warns(env: Env) -> None:
    paused = flows_by_status(env, "manual")[0]
    answer = env.call("klaviyo_propose_pause_flow", flow_id=paused["id"], status="draft")
    assert any("already paused (manual)" in w for w in answer["warnings"])


def test_a_flow_is_never_set_live(env: Env) -> None:
    flow = flows_by_status(env, "manual")[0]
    error = env.error("klaviyo_propose_pause_flow", flow_id=flow["id"], status="live")
    assert error.code == "FORBIDDEN_ACTION" and error.details["field"] == "status"
    assert "starts sending" in error.message
    assert env.ledger.list_proposals() == []


def test_list_and_get_actions_audit_who_did_what(env: Env) -> None:
    done = env.run("create_list", name="Audit me")["data"]["action_id"]
    waiting = env.propose("create_list", name="Later")
    rows = env.call("klaviyo_list_actions")["data"]["actions"]
    assert [(r["action_id"], r["status"], r["proposed_by"]) for r in rows] == [
        (waiting, "pending", "mcp"), (done, "succeeded", "mcp")
    ]  # fmt: skip
    assert [r["action_id"] for r in env.call("klaviyo_list_actions", status="pending")["data"]["actions"]] == [waiting]
    record = env.call("klaviyo_get_action", action_id=done)
    data = record["data"]
    assert data["status"] == ProposalStatus.SUCCEEDED and record["metadata"]["account"] == "acme"
    assert data["by"] == ["mcp", "approver:alice"]  # proposed by, decided by
    assert env.call("klaviyo_get_action", action_id=waiting)["data"]["by"] == ["mcp", None]
    assert data["plan"][0]["check"]["kind"] == "by_name"  # the audit shows the whole stored plan
    # the snapshot of same-named lists just before the create, then the create
    assert [t["call"] for t in data["trace"]] == ["GET /api/lists", "POST /api/lists"]
    assert data["trace"][1]["body"] == {"data": {"type": "list", "attributes": {"name": "Audit me"}}}
    assert data["trace"][1]["status"] == 201
    assert env.error("klaviyo_get_action", action_id="act_unknown").code == "NOT_FOUND"


def test_every_request_and_answer_matches_klaviyos_spec(env: Env) -> None:
    """Every call in these tests passes through the spec checker; here each write we make runs once."""
    checker = spec_checker()
    if checker is None:
        pytest.skip("Klaviyo's OpenAPI spec is not at KLAVIYO_OPENAPI_SPEC; request bodies were not checked")
    env.run("seed_demo_profiles", count=1, new_list_name="Spec")
    env.run("campaign_draft", name="Spec", audience_id="YEiTqa", subject="s", template_html="<p>x</p>")
    env.run("segment", recipe="winback")
    env.run("pause_flow", flow_id=flows_by_status(env, "live")[0]["id"], status="draft")
    assert {
        ("create_list", 201), ("create_or_update_profile", 201), ("add_profiles_to_list", 204),
        ("create_template", 201), ("create_campaign", 201), ("assign_template_to_campaign_message", 200),
        ("create_segment", 201), ("update_flow", 200), ("get_lists", 200), ("get_profiles", 200),
    } <= checker.checked  # fmt: skip

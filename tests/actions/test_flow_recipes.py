"""klaviyo_propose_flow: every recipe on the sandbox, the refusals, and a half-way failure resumed."""

from __future__ import annotations

from typing import Any

import pytest

from api import create_app
from klaviyo_analytics.actions import flow_recipes
from klaviyo_analytics.schemas.actions import FLOW_RECIPES
from klaviyo_sandbox import FaultConfig
from tests.actions.action_env import APPROVER_TOKEN, REST_TOKEN, Env

VIP = "YEiTqa"  # the seeded "VIP Customers" list
CHURN = "EzkNdM"  # the seeded "Churn Risk" segment
TRIGGERS = {"welcome_series": VIP, "winback": CHURN}


def _structure(env: Env, flow_id: str) -> dict[str, Any]:
    return env.call("klaviyo_get_flow_structure", flow_id=flow_id)["data"]


def test_the_recipe_table_is_the_schema_choice() -> None:
    assert (*flow_recipes.RECIPES, "custom") == FLOW_RECIPES


def test_welcome_series_for_the_vip_list_becomes_the_promised_draft(env: Env) -> None:
    proposed = env.call("klaviyo_propose_flow", recipe="welcome_series", trigger_id=VIP)["data"]
    summary = proposed["summary"]
    assert summary == (
        "Create the draft flow 'Welcome Series' (welcome_series): trigger: added to list 'VIP Customers' (YEiTqa)"
        " → email 'Welcome to Acme Outdoor Co.' → wait 1 day → email 'The story behind Acme Outdoor Co.'"
        " → wait 2 days → email 'A little something for you'."
    )
    assert [s["step_id"] for s in proposed["plan"]] == [
        "create_template_1", "create_template_2", "create_template_3", "create_flow",
    ]  # fmt: skip
    for step in proposed["plan"][:3]:  # the sender's name ends in a period: one stop, not "Co.."
        page = step["body"]["data"]["attributes"]["html"]
        assert "a note from Acme Outdoor Co.</p>" in page and ".." not in page
    definition = proposed["plan"][-1]["body"]["data"]["attributes"]["definition"]
    assert definition["actions"][0]["data"]["message"]["template_id"] == {"$ref": "create_template_1.id"}
    assert {a["data"].get("status") for a in definition["actions"]} == {"draft", None}
    assert env.created() == {}  # proposing stores nothing in Klaviyo
    env.approve(proposed["action_id"])
    done = env.call("klaviyo_execute_action", action_id=proposed["action_id"])["data"]
    flow_id = done["created"]["create_flow"]["id"]
    assert done["created"]["create_flow"]["status"] == "draft"
    structure = _structure(env, flow_id)
    assert structure["status"] == "draft" and structure["trigger_type"] == "Added to List"
    assert [s["action_type"] for s in structure["steps"]] == [
        "send-email", "time-delay", "send-email", "time-delay", "send-email",
    ]  # fmt: skip
    assert [s["subject"] for s in structure["steps"] if s["subject"]] == [
        "Welcome to Acme Outdoor Co.", "The story behind Acme Outdoor Co.", "A little something for you",
    ]  # fmt: skip
    templates = {t["id"] for t in env.created()["templates"]}
    assert {m["template_id"] for m in _messages(env, flow_id)} == templates


def _messages(env: Env, flow_id: str) -> list[dict[str, Any]]:
    flow = env.get(f"/api/flows/{flow_id}", **{"additional-fields[flow]": "definition"})
    return [a["data"]["message"] for a in flow["attributes"]["definition"]["actions"] if a["type"] == "send-email"]


@pytest.mark.parametrize("recipe", ["abandoned_checkout", "browse_abandonment", "post_purchase", "winback"])
def test_every_recipe_creates_its_draft(env: Env, recipe: str) -> None:
    args = {"trigger_id": TRIGGERS[recipe]} if recipe in TRIGGERS else {}
    done = env.run("flow", recipe=recipe, **args)["data"]
    structure = _structure(env, done["created"]["create_flow"]["id"])
    expected = flow_recipes.RECIPES[recipe]
    assert structure["status"] == "draft" and structure["flow_name"] == expected.title
    assert structure["trigger_type"] == ("Added to List" if recipe == "winback" else "Metric")
    assert structure["summary"]["send-email"] == len(expected.emails)


def test_marketer_choices_land_in_the_definition(env: Env) -> None:
    done = env.run(
        "flow", recipe="abandoned_checkout", name="Cart rescue", emails=3, delays=["1 hour", "1 day", "3 days"],
        subjects=["Forgot something?", "Your cart misses you", "Last call"], from_email="shop@acme.example",
        smart_sending=False, send_time="09:30",
    )["data"]  # fmt: skip
    flow = env.get(f"/api/flows/{done['created']['create_flow']['id']}", **{"additional-fields[flow]": "definition"})
    actions = flow["attributes"]["definition"]["actions"]
    delays = [
        (a["data"]["value"], a["data"]["unit"], a["data"]["delay_until_time"])
        for a in actions
        if a["type"] == "time-delay"
    ]
    assert delays == [(1, "hours", "09:30:00"), (1, "days", "09:30:00"), (3, "days", "09:30:00")]
    messages = [a["data"]["message"] for a in actions if a["type"] == "send-email"]
    assert [m["subject_line"] for m in messages] == ["Forgot something?", "Your cart misses you", "Last call"]
    assert {(m["from_email"], m["from_label"], m["smart_sending_enabled"]) for m in messages} == {
        ("shop@acme.example", "Acme Outdoor Co.", False)
    }
    assert "until 09:30" in done["summary"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"emails": 0}, "emails"),
        ({"emails": 11}, "emails"),
        ({"delays": ["0 days", "-1 days", "2 days"]}, "delays[1]"),
        ({"delays": ["soon", "1 day", "2 days"]}, "delays[0]"),
        ({"subjects": ["a", "x" * 90, "c"]}, "subjects[1]"),
        ({"emails": 2, "subjects": ["only one"]}, "subjects"),
        ({"trigger_id": "NOPE42"}, "trigger_id"),
        ({"trigger_id": None}, "trigger_id"),
        ({"send_time": "25:00"}, "send_time"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(env: Env, args: dict[str, Any], field: str) -> None:
    error = env.error("klaviyo_propose_flow", **({"recipe": "welcome_series", "trigger_id": VIP} | args))
    # A well-formed id the account does not hold is NOT_FOUND, as everywhere; a bad value is INVALID_ARGUMENT.
    expected = "NOT_FOUND" if args.get(field) == "NOPE42" else "INVALID_ARGUMENT"
    assert (error.code, error.details.get("field")) == (expected, field)
    assert env.ledger.list_proposals(account="acme") == []  # nothing stored


def test_a_failure_half_way_keeps_the_templates_and_a_retry_makes_them_once(env: Env) -> None:
    action_id = env.propose("flow", recipe="welcome_series", trigger_id=VIP, emails=2)
    env.approve(action_id)
    env.sb.set_faults(
        FaultConfig(storm=1.0, storm_length=10, only_methods=frozenset({"POST"}), only_paths=("/api/flows",))
    )
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert error.code == "RATE_LIMITED" and error.details["status"] == "approved"
    assert error.details["completed_steps"] == ["create_template_1", "create_template_2"]
    view = env.call("klaviyo_get_action", action_id=action_id)["data"]
    assert set(view["created"]) >= {"create_template_1", "create_template_2"}
    assert "create_flow" not in view["created"]
    env.sb.set_faults(None)
    done = env.call("klaviyo_execute_action", action_id=action_id)["data"]
    assert done["status"] == "succeeded"
    assert len(env.created()["templates"]) == 2 and len(env.created()["flows"]) == 1


def test_a_lost_flow_answer_is_adopted_not_repeated(env: Env) -> None:
    action_id = env.propose("flow", recipe="browse_abandonment")
    env.approve(action_id)
    env.sb.set_faults(FaultConfig(applied_error=1.0, only_methods=frozenset({"POST"}), only_paths=("/api/flows",)))
    done = env.call("klaviyo_execute_action", action_id=action_id)["data"]
    env.sb.set_faults(None)
    assert done["status"] == "succeeded" and done["created"]["create_flow"]["found_existing"] is True
    assert len(env.created()["flows"]) == 1


def test_the_client_refuses_a_flow_posted_with_a_live_action(env: Env) -> None:
    from klaviyo_analytics.errors import ForbiddenActionError
    from klaviyo_analytics.klaviyo.deadline import Deadline

    action = {"temporary_id": "a", "type": "send-email", "links": {"next": None}, "data": {"status": "live"}}
    definition = {"triggers": [{"type": "list", "id": VIP}], "actions": [action], "entry_action_id": "a"}
    body = {"data": {"type": "flow", "attributes": {"name": "Live?", "definition": definition}}}
    with pytest.raises(ForbiddenActionError):
        env.service.client.request(env.service.account("acme"), "POST", "/api/flows", body=body, deadline=Deadline(5))
    assert env.created() == {}


def test_welcome_series_through_rest(env: Env) -> None:
    http = create_app(service=env.service).test_client()
    reader, approver = {"Authorization": f"Bearer {REST_TOKEN}"}, {"Authorization": f"Bearer {APPROVER_TOKEN}"}
    proposed = http.post(
        "/v1/actions/propose/flow", json={"recipe": "welcome_series", "trigger_id": VIP}, headers=reader
    )
    assert proposed.status_code == 200, proposed.json
    view = proposed.json["data"]
    assert "→ wait 1 day → email 'The story behind Acme Outdoor Co.'" in view["summary"]
    bad = http.post("/v1/actions/propose/flow", json={"recipe": "welcome_series", "trigger_id": VIP, "emails": 0},
                    headers=reader)  # fmt: skip
    assert bad.status_code == 400 and bad.json["error"]["code"] == "INVALID_ARGUMENT"
    shown = {"plan_hash": view["plan_hash"]}
    assert http.post(f"/v1/actions/{view['action_id']}/approve", headers=approver, json=shown).status_code == 200
    ran = http.post(f"/v1/actions/{view['action_id']}/execute", headers=reader)
    assert ran.status_code == 200 and ran.json["data"]["status"] == "succeeded"
    flow_id = ran.json["data"]["created"]["create_flow"]["id"]
    structure = http.get(f"/v1/flows/{flow_id}/structure", headers=reader).json["data"]
    definition = view["plan"][-1]["body"]["data"]["attributes"]["definition"]
    promised = [(a["type"], (a["data"].get("message") or {}).get("subject_line")) for a in definition["actions"]]
    assert [(s["action_type"], s["subject"]) for s in structure["steps"]] == promised
    assert structure["status"] == "draft"
    assert http.post(f"/v1/actions/{view['action_id']}/execute", headers=reader).status_code == 409


def _custom(template_id: str) -> dict[str, Any]:
    email = {"subject_line": "Hello VIP", "template_id": template_id, "from_email": "vip@acme.example"}
    return {
        "triggers": [{"type": "list", "id": VIP}],
        "entry_action_id": "wait",
        "actions": [
            {"temporary_id": "wait", "type": "time-delay", "links": {"next": "hello"},
             "data": {"unit": "hours", "value": 6}},
            {"temporary_id": "hello", "type": "send-email", "links": {"next": None},
             "data": {"status": "draft", "message": email}},
        ],
    }  # fmt: skip


def test_a_custom_definition_is_checked_then_created_as_posted(env: Env) -> None:
    template_id = env.get("/api/templates")[0]["id"]
    definition = _custom(template_id)
    proposed = env.call("klaviyo_propose_flow", recipe="custom", name="VIP hello", definition=definition)["data"]
    assert proposed["summary"].endswith("trigger: list 'VIP Customers' (YEiTqa) → wait 6 hours → email 'Hello VIP'.")
    assert proposed["plan"][0]["body"]["data"]["attributes"]["definition"] == definition
    env.approve(proposed["action_id"])
    done = env.call("klaviyo_execute_action", action_id=proposed["action_id"])["data"]
    structure = _structure(env, done["created"]["create_flow"]["id"])
    assert [(s["action_type"], s["subject"]) for s in structure["steps"]] == [
        ("time-delay", None), ("send-email", "Hello VIP"),
    ]  # fmt: skip
    assert structure["status"] == "draft"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["actions"][1]["data"]["message"].pop("subject_line"), "actions[1].data.message.subject_line"),
        (lambda d: d["actions"][0]["data"].update(unit="weeks"), "actions[0].data.unit"),
        (lambda d: d["actions"][0]["data"].pop("value"), "actions[0].data.value"),
        (lambda d: d["actions"][0].update(type="teleport"), "actions[0].type"),
        (lambda d: d["actions"][1]["data"].update(status="live"), "actions[1].data.status"),
        (lambda d: d["actions"][0].update(links={"next": "ghost"}), "actions[0].links.next"),
        (lambda d: d["actions"][0].update(id="123"), "actions[0].id"),
        (lambda d: d.update(entry_action_id="nope"), "entry_action_id"),
        (lambda d: d["triggers"][0].update(id="NOPE42"), "triggers[0].id"),
        (
            lambda d: d["actions"][1]["data"]["message"].update(template_id="NOPE42"),
            "actions[1].data.message.template_id",
        ),
        (lambda d: d.pop("triggers"), "triggers"),
    ],
)
def test_a_bad_custom_definition_is_refused_by_path(env: Env, change: Any, path: str) -> None:
    definition = _custom(env.get("/api/templates")[0]["id"])
    change(definition)
    error = env.error("klaviyo_propose_flow", recipe="custom", name="Bad", definition=definition)
    expected = "NOT_FOUND" if path.endswith(("triggers[0].id", "template_id")) else "INVALID_ARGUMENT"
    assert (error.code, error.details["field"]) == (expected, f"definition.{path}")
    assert env.ledger.list_proposals(account="acme") == []


def test_definition_and_custom_go_together(env: Env) -> None:
    assert env.error("klaviyo_propose_flow", recipe="custom", name="x").details["field"] == "definition"
    error = env.error("klaviyo_propose_flow", recipe="welcome_series", trigger_id=VIP, definition={"a": 1})
    assert error.details["field"] == "definition"


def test_the_committed_flow_schema_is_the_specs(tmp_path: Any) -> None:
    import importlib.util

    from tests.klaviyo_sandbox.conftest import REPO, SPEC_PATH

    if not SPEC_PATH.exists():
        pytest.skip(f"Klaviyo's OpenAPI spec is not at {SPEC_PATH}")
    loaded = importlib.util.spec_from_file_location("extract_flow_schema", REPO / "scripts" / "extract_flow_schema.py")
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    assert module.main(["--check", "--spec", str(SPEC_PATH)]) == 0
    stale = tmp_path / "stale.json"
    stale.write_text("{}")
    assert module.main(["--check", "--spec", str(SPEC_PATH), "--out", str(stale)]) == 1

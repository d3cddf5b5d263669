"""Secrets are declared, never found: a placeholder is honoured only where the tool that built the
plan declared it (the webhook's secret_key), for a KLAVIYO_WEBHOOK_SECRET* name; free-form input
cannot carry one; a stored plan with one anywhere else is refused before any call; no cache keeps a
secret. (Issue 23 item 1: a custom flow's code data carried {"$secret_env": "KLAVIYO_ACME_KEY"}.)"""

from __future__ import annotations

import copy
import io
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from api import create_app
from klaviyo_analytics.actions import secret_env
from klaviyo_analytics.actions.cli import main as cli_main
from klaviyo_analytics.errors import ConflictError, InvalidArgumentError
from klaviyo_analytics.klaviyo.cache import TTLCache
from klaviyo_analytics.klaviyo.redact import register_secret
from klaviyo_analytics.tools import CATALOG
from tests.actions.action_env import APPROVER_TOKEN, Env, environment

ENV = "KLAVIYO_WEBHOOK_SECRET_RELAY"
VIP = "YEiTqa"
CODE_DATA = {"source": "return 1", "config": {"key": {"$secret_env": "KLAVIYO_ACME_KEY"}}}
# Every propose tool with arguments that pass validation; the sweep fails when a new one is missing.
BASE: dict[str, dict[str, Any]] = {
    "klaviyo_propose_create_list": {"name": "Plain"},
    "klaviyo_propose_seed_demo_profiles": {"count": 1, "new_list_name": "Seeded"},
    "klaviyo_propose_add_profiles_to_list": {"list_id": VIP, "emails": ["a@example.com"]},
    "klaviyo_propose_campaign_draft": {
        "name": "Spring",
        "audience_id": VIP,
        "subject": "Hello",
        "preview_text": "Hi",
        "template_html": "<p>Hi</p>",
        "from_label": "Acme",
        "from_email": "news@acme.example",
    },
    "klaviyo_propose_segment": {"recipe": "vip", "min_value": 100, "name": "Big spenders"},
    "klaviyo_propose_flow": {
        "recipe": "custom",
        "name": "Custom",
        "definition": {
            "triggers": [{"type": "list", "id": VIP}],
            "entry_action_id": "code",
            "actions": [
                {"temporary_id": "code", "type": "code", "links": {"next": None}, "data": {"source": "return 1"}}
            ],
        },
        "subjects": ["One"],
    },
    "klaviyo_propose_update_flow": {"flow_id": "F1", "flow_action_id": "A1", "subject": "New"},
    "klaviyo_propose_pause_flow": {"flow_id": "F1", "status": "manual"},
    "klaviyo_propose_create_webhook": {
        "name": "Relay",
        "endpoint_url": "https://hooks.example.com/in",
        "topics": ["event:klaviyo.sent_sms"],
        "secret_env": ENV,
        "description": "out",
    },
    "klaviyo_propose_delete_flow": {"flow_id": "F1"},
    "klaviyo_propose_delete_webhook": {"webhook_id": "W1"},
    "klaviyo_propose_clone_campaign": {"campaign_id": "C1", "new_name": "Again", "audience_id": VIP, "subject": "Re"},
}
# What a hostile argument looks like: the object, and the string forms a decoder could turn into one.
FORMS: list[Any] = [
    {"$secret_env": "KLAVIYO_ACME_KEY"},
    '{"$secret_env": "KLAVIYO_MCP_APPROVAL_SECRET"}',
    "see {'$SECRET_ENV': 'KLAVIYO_MCP_LEDGER_URL'} here",
]
# Fields a person or model writes freely: each must be refused by the placeholder rule itself.
FREE_FORM = {
    "name", "new_list_name", "subject", "preview_text", "template_html", "from_label", "subjects", "definition",
    "description", "new_name",
}  # fmt: skip


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "whsec-" + secrets.token_hex(16)
    monkeypatch.setenv(ENV, value)
    return value


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every string and every object inside an argument (an object gets a new key)."""
    if isinstance(value, dict):
        if path:  # the arguments object itself: an unknown field is refused by its schema anyway
            yield (*path, "$new")
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif isinstance(value, str):
        yield path


def _planted(args: dict[str, Any], path: tuple[Any, ...], form: Any) -> dict[str, Any]:
    out = copy.deepcopy(args)
    target: Any = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1] if path[-1] != "$new" else "extra"] = form
    return out


def test_every_propose_tool_refuses_a_placeholder_in_every_field(env: Env, secret: str) -> None:
    proposing = {spec.name for spec in CATALOG if spec.name.startswith("klaviyo_propose_")}
    assert proposing == set(BASE), "every propose tool needs base arguments here"
    refused_by_rule: set[str] = set()
    cases = 0
    for tool, args in BASE.items():
        for path in _leaves(args):
            for form in FORMS:
                error = env.error(tool, **_planted(args, path, form))
                cases += 1
                assert error.code == "INVALID_ARGUMENT", (tool, path, form, error.message)
                assert str(error.details.get("field", "")).startswith(str(path[0])), (tool, path, error.details)
                if error.details.get("rule") == "no_secret_placeholder":
                    refused_by_rule.add(str(path[0]))
                    assert "$secret_env" in error.message and "KLAVIYO_MCP_APPROVAL_SECRET" not in error.message
    assert refused_by_rule >= FREE_FORM, FREE_FORM - refused_by_rule
    assert cases > 100
    assert env.ledger.list_proposals(account="acme") == []
    assert [e for e in env.sb.log() if e["method"] != "GET"] == []


def test_the_reported_attack_is_refused_at_propose_over_rest(env: Env, secret: str) -> None:
    """The custom flow of the review, its code action's data asking for the Klaviyo key."""
    definition = copy.deepcopy(BASE["klaviyo_propose_flow"]["definition"])
    definition["actions"][0]["data"] = CODE_DATA
    http = create_app(service=env.service).test_client()
    answer = http.post(
        "/v1/actions/propose/flow", json={"recipe": "custom", "name": "Leak", "definition": definition},
        headers={"Authorization": f"Bearer {APPROVER_TOKEN}"},
    )  # fmt: skip
    assert answer.status_code == 400, answer.json
    assert answer.json["error"]["details"]["field"] == "definition.actions[0].data.config.key"
    assert env.ledger.list_proposals(account="acme") == []


def _stored_and_approved(env: Env, plan: list[dict[str, Any]]) -> str:
    """A plan written to the ledger as an older version (or an attacker with the tools) would,
    approved with a valid signature: only the executor's own check stands in the way."""
    proposal = env.ledger.create_proposal("acme", "create_list", {}, plan, "Create a list.", [], "mcp")
    env.ledger.decide(proposal.id, True, "approver:alice", "ok")
    return proposal.id


@pytest.mark.parametrize(
    "plan",
    [
        # a name asking for another secret (even one with the allowed prefix: it is not declared)
        [{"step_id": "create_list", "note": "n", "method": "POST", "path": "/api/lists",
          "body": {"data": {"type": "list", "attributes": {"name": {"$secret_env": ENV}}}}}],
        # a webhook plan stored before declarations existed: refused too, propose it again
        [{"step_id": "create_webhook", "note": "n", "method": "POST", "path": "/api/webhooks",
          "body": {"data": {"type": "webhook", "attributes": {
              "name": "Old", "endpoint_url": "https://hooks.example.com/in", "secret_key": {"$secret_env": ENV}},
              "relationships": {"webhook-topics": {"data": []}}}}}],
        # a declaration for a field no tool may declare
        [{"step_id": "create_list", "note": "n", "method": "POST", "path": "/api/lists",
          "secrets": [{"field": "data.attributes.name", "env": ENV}],
          "body": {"data": {"type": "list", "attributes": {"name": {"$secret_env": ENV}}}}}],
        # the webhook's field, declared for a name without the prefix
        [{"step_id": "create_webhook", "note": "n", "method": "POST", "path": "/api/webhooks",
          "secrets": [{"field": "data.attributes.secret_key", "env": "KLAVIYO_MCP_APPROVAL_SECRET"}],
          "body": {"data": {"type": "webhook", "attributes": {
              "name": "Old", "endpoint_url": "https://hooks.example.com/in",
              "secret_key": {"$secret_env": "KLAVIYO_MCP_APPROVAL_SECRET"}}}}}],
    ],
    ids=["undeclared-name", "old-webhook-plan", "field-not-allowed", "name-not-allowed"],
)  # fmt: skip
def test_a_stored_plan_with_an_undeclared_placeholder_is_refused_before_any_call(
    env: Env, secret: str, plan: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAVIYO_MCP_APPROVAL_SECRET", "x" * 32)
    action_id = _stored_and_approved(env, plan)
    before = len(env.sb.log())
    error = env.error("klaviyo_execute_action", action_id=action_id)
    assert (error.code, error.details["status"]) == ("CONFLICT", "undeclared_secret"), error.message
    assert "Nothing was sent" in error.message
    assert env.sb.log()[before:] == []  # not one request, not even a read
    assert env.ledger.get_execution(action_id) is None
    assert secret not in json.dumps(env.sb.state())


def test_approving_a_plan_that_would_be_refused_is_refused(env: Env, secret: str) -> None:
    plan = [{"step_id": "create_list", "note": "n", "method": "POST", "path": "/api/lists",
             "body": {"data": {"type": "list", "attributes": {"name": {"$secret_env": ENV}}}}}]  # fmt: skip
    proposal = env.ledger.create_proposal("acme", "create_list", {}, plan, "Create a list.", [], "mcp")
    with pytest.raises(ConflictError, match="no tool declared"):
        env.approve(proposal.id)


def test_check_plan_at_propose_names_the_rule() -> None:
    plan = [{"step_id": "s", "method": "POST", "path": "/api/lists", "body": {"x": {"$secret_env": ENV}}}]
    with pytest.raises(InvalidArgumentError) as err:
        secret_env.check_plan(plan)
    assert err.value.details["rule"] == "no_secret_placeholder"


def test_the_declared_webhook_secret_is_shown_in_words_and_sent_only_there(
    env: Env, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proposed = env.call("klaviyo_propose_create_webhook", **BASE["klaviyo_propose_create_webhook"])
    step = proposed["data"]["plan"][0]
    assert step["secrets"] == [{"field": "data.attributes.secret_key", "env": ENV}]  # hashed and signed with it
    words = [w for w in proposed["warnings"] if w.startswith("SECRET:")]
    assert len(words) == 1 and ENV in words[0] and "data.attributes.secret_key" in words[0]
    action_id = proposed["data"]["action_id"]
    # the CLI and the console say it too
    for key, value in environment(env.sb, env.tmp).items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["actions", "show", action_id], out, err) == 0
    assert f"inserts the value of the server's environment variable {ENV}" in out.getvalue()
    client = create_app(service=env.service).test_client()
    page = client.get("/console/sign-in")
    from tests.api.console.conftest import csrf_token

    client.post("/console/sign-in", data={"csrf_token": csrf_token(page.text), "token": APPROVER_TOKEN})
    assert (
        f"environment variable {ENV} as data.attributes.secret_key" in client.get(f"/console/actions/{action_id}").text
    )
    env.approve(action_id)
    assert env.call("klaviyo_execute_action", action_id=action_id)["data"]["status"] == "succeeded"
    (hook,) = env.sb.store.accounts["acme"].webhooks.values()
    assert hook.secret_key == secret  # Klaviyo got the value, in the one declared field
    assert secret not in json.dumps(env.ledger.get_trace(action_id), default=str)


def test_a_read_answer_holding_a_secret_is_never_cached() -> None:
    value = "cache-secret-" + secrets.token_hex(8)
    register_secret(value)
    cache = TTLCache()
    cache.put("plain", {"data": {"name": "ok"}}, 60)
    cache.put("echo", {"data": {"definition": {"key": value}}}, 60)
    cache.put("escaped", {"data": [f'quoted "{value}"']}, 60)
    assert cache.get("plain") is not None
    assert cache.get("echo") is None and cache.get("escaped") is None


def test_a_read_tool_answer_echoing_a_secret_is_not_kept(
    env: Env, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list named with a webhook secret's value (Klaviyo echoing it back): answered, never kept."""
    from klaviyo_analytics.klaviyo.redact import register_env_secrets

    env.post_as_someone_else("/api/lists", {"data": {"type": "list", "attributes": {"name": secret}}})
    register_env_secrets({ENV: secret})  # what load_settings does at start-up, in every process
    store = env.service.client.cache.store
    kept: list[str] = []
    real_put = store.cache_put

    def recording_put(key: str, value: Any, ttl: float, keep: float) -> None:
        kept.append(json.dumps(value))
        real_put(key, value, ttl, keep)

    monkeypatch.setattr(store, "cache_put", recording_put)
    env.call("klaviyo_get_list_health")
    assert kept, "the tool's other reads are cached as usual"
    assert not [text for text in kept if secret in text]

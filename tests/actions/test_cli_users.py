"""The CLI respects the users file (issue 23 item 3): with KLAVIYO_MCP_USERS_FILE set, ``actions approve <id>
--as bob`` recorded "approved by bob" for his own proposal although the file made him a proposer
only. Now ``--as`` must name an approver of the proposal's account who proves it with a password or
token (KLAVIYO_MCP_APPROVER_CREDENTIAL, a hidden prompt or stdin; never an argument), and KLAVIYO_MCP_REQUIRE_SECOND_APPROVER
holds at the terminal too."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from klaviyo_analytics.actions import ProposalStatus
from klaviyo_analytics.actions.cli import main as cli_main
from klaviyo_analytics.auth.users import hash_password
from tests.actions.action_env import APPROVER_TOKEN, Env, environment, settings_for

BOB_PASSWORD = "bob-password-0001"
ANN_PASSWORD = "ann-password-0001"


def users_toml(tmp: Path) -> Path:
    path = tmp / "users.toml"
    path.write_text(
        f"""[users.bob]
password_hash = "{hash_password(BOB_PASSWORD)}"
tokens_env = ["KLAVIYO_MCP_REST_API_KEY"]
grants = {{ acme = "proposer" }}

[users.ann]
password_hash = "{hash_password(ANN_PASSWORD)}"
tokens_env = ["KLAVIYO_MCP_APPROVER_TOKENS"]
grants = {{ acme = "approver" }}
"""
    )
    return path


@pytest.fixture
def team(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    extra = {"KLAVIYO_MCP_USERS_FILE": str(users_toml(env.tmp)), "KLAVIYO_MCP_REQUIRE_SECOND_APPROVER": "true"}
    for key, value in environment(env.sb, env.tmp, **extra).items():
        monkeypatch.setenv(key, value)
    env.service = env.make_service(settings_for(env.sb, env.tmp, **extra))
    # The person at the terminal is taken as typing the code; what is checked here is who they are.
    monkeypatch.setattr("klaviyo_analytics.actions.cli.confirm_at_terminal", lambda *a, **k: None)
    monkeypatch.delenv("KLAVIYO_MCP_APPROVER_CREDENTIAL", raising=False)
    return env


def approve(monkeypatch: pytest.MonkeyPatch, *argv: str, credential: str | None = None) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))  # no credential piped in either
    if credential is None:
        monkeypatch.delenv("KLAVIYO_MCP_APPROVER_CREDENTIAL", raising=False)
    else:
        monkeypatch.setenv("KLAVIYO_MCP_APPROVER_CREDENTIAL", credential)
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(["actions", *argv], out, err)
    return code, out.getvalue() + err.getvalue()


def test_a_proposer_only_user_cannot_approve_even_with_his_password(team: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    action_id = team.call("klaviyo_propose_create_list", caller="bob", name="Bob's list")["data"]["action_id"]
    code, text = approve(monkeypatch, "approve", action_id, "--as", "bob", credential=BOB_PASSWORD)
    assert code == 1 and "FORBIDDEN" in text and "approver role" in text and "proposer" in text
    assert team.ledger.get_proposal(action_id).status is ProposalStatus.PENDING


def test_an_approver_with_a_wrong_secret_is_refused(team: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    action_id = team.call("klaviyo_propose_create_list", caller="bob", name="Bob's list")["data"]["action_id"]
    for wrong in (BOB_PASSWORD, "not-anns-password", ""):
        code, text = approve(monkeypatch, "approve", action_id, "--as", "ann", credential=wrong or None)
        assert code == 1 and "FORBIDDEN" in text and "not theirs" in text, text
    code, text = approve(monkeypatch, "approve", action_id, "--as", "nobody", credential=ANN_PASSWORD)
    assert code == 1 and "FORBIDDEN" in text
    code, text = approve(monkeypatch, "approve", action_id, credential=ANN_PASSWORD)  # no --as at all
    assert code == 1 and "--as" in text
    assert team.ledger.get_proposal(action_id).status is ProposalStatus.PENDING


def test_an_approver_proves_it_with_a_password_or_a_token(team: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    first = team.call("klaviyo_propose_create_list", caller="bob", name="One")["data"]["action_id"]
    code, text = approve(monkeypatch, "approve", first, "--as", "ann", credential=ANN_PASSWORD)
    assert code == 0 and f"{first} approved by ann" in text, text
    second = team.call("klaviyo_propose_create_list", caller="bob", name="Two")["data"]["action_id"]
    code, text = approve(monkeypatch, "approve", second, "--as", "ann", credential=APPROVER_TOKEN)
    assert code == 0, text
    assert team.ledger.get_history(second).decision.approver == "ann"  # type: ignore[union-attr]
    assert ANN_PASSWORD not in text and APPROVER_TOKEN not in text


def test_the_second_approver_rule_holds_at_the_terminal(team: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    own = team.call("klaviyo_propose_create_list", caller="ann", name="Ann's own")["data"]["action_id"]
    code, text = approve(monkeypatch, "approve", own, "--as", "ann", credential=ANN_PASSWORD)
    assert code == 1 and "KLAVIYO_MCP_REQUIRE_SECOND_APPROVER" in text
    assert team.ledger.get_proposal(own).status is ProposalStatus.PENDING
    code, text = approve(monkeypatch, "reject", own, "--as", "ann", "--reason", "withdrawn", credential=ANN_PASSWORD)
    assert code == 0 and "rejected by ann" in text


def test_the_credential_is_never_an_argument(team: Env) -> None:
    from klaviyo_analytics.actions.cli import parser

    options = {o for action in parser()._subparsers._group_actions for o in action.choices}  # type: ignore[union-attr]
    assert "actions" in options
    with pytest.raises(SystemExit):
        parser().parse_args(["actions", "approve", "act_x", "--password", "x"])

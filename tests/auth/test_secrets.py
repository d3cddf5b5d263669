"""The users file's secrets never come out: tokens, password hashes and passwords are searched for
in every REST body and header, every log line (DEBUG), the ledger file and every config error."""

from __future__ import annotations

from pathlib import Path

import pytest

from klaviyo_analytics.auth.users import load_directory
from klaviyo_analytics.errors import ConfigError
from tests.auth.conftest import ANN_HASH, ANN_PASSWORD, GRANTS, Team, auth, token_of
from tests.helpers import TWO_ACCOUNTS, make_settings
from tests.reliability.test_secrets_sweep import forms

WRONG_TOKEN = "a-wrong-token-someone-sent-0123"
SECRETS = {
    **{f"{user}'s token": token_of(user) for user in GRANTS},
    "ann's password hash": ANN_HASH,
    "ann's password": ANN_PASSWORD,
    "a wrong token": WRONG_TOKEN,
}


def leaks(data: bytes) -> list[str]:
    return [label for label, secret in SECRETS.items() if any(form in data for form in forms(secret))]


@pytest.mark.parametrize("team", [{"KLAVIYO_MCP_LOG_LEVEL": "DEBUG"}], indirect=True)
def test_no_users_file_secret_in_anything_the_api_puts_out(team: Team, capfd: pytest.CaptureFixture[str]) -> None:
    http, out = team.http, []

    def keep(answer):  # type: ignore[no-untyped-def]
        out.append(answer.get_data() + repr(dict(answer.headers)).encode())
        return answer

    action_id = keep(http.post("/v1/actions/propose/create-list", json={"account": "acme", "name": "S"}, headers=auth("paul"))).json["data"]["action_id"]  # fmt: skip
    keep(http.post(f"/v1/actions/{action_id}/approve", headers=auth("paul")))  # refused: a proposer
    keep(http.post(f"/v1/actions/{action_id}/approve", headers=auth("gina")))  # refused: another account
    keep(http.post(f"/v1/actions/{action_id}/approve", headers=auth("ann"), json={"reason": "ok"}))
    keep(http.post(f"/v1/actions/{action_id}/execute", headers=auth("paul")))
    for user in GRANTS:
        keep(http.get("/v1/accounts", headers=auth(user)))
        keep(http.get("/v1/flows?account=globex", headers=auth(user)))
        keep(http.get(f"/v1/actions/{action_id}", headers=auth(user)))
    keep(http.get("/v1/accounts", headers={"Authorization": f"Bearer {WRONG_TOKEN}"}))
    keep(http.get("/v1/accounts", headers={"X-API-Key": WRONG_TOKEN}))
    keep(http.get("/health"))
    keep(http.get("/metrics", headers=auth("wally")))
    assert team.ledger.get_proposal(action_id).proposed_by == "paul"

    captured = capfd.readouterr()
    logs = (captured.err + captured.out).encode()
    assert b"tool.call" in logs, "DEBUG logging ran"
    ledger = b"".join(p.read_bytes() for p in Path(team.settings.resolved_ledger_path).parent.glob("ledger.sqlite3*"))
    assert ledger, "the ledger was written"
    found = {f"{label} in {where}" for where, data in (("REST", b"".join(out)), ("logs", logs), ("ledger", ledger)) for label in leaks(data)}  # fmt: skip
    assert not found


@pytest.mark.parametrize(
    "text",
    [
        f'[users.ann]\npassword_hash = "{ANN_HASH[:-3]}"\ngrants = {{ acme = "root" }}\n',  # bad role after a hash
        '[users.ann]\ntokens_env = ["SHORT"]\n',  # a token too short: its value is not quoted
        '[users.ann]\ntokens_env = ["A", "B"]\n',  # one token for two variables of the same user
    ],
)
def test_config_errors_quote_no_secret(tmp_path: Path, text: str) -> None:
    users = tmp_path / "users.toml"
    users.write_text(text)
    env = {"KLAVIYO_MCP_USERS_FILE": str(users), "SHORT": "tiny-secret", "A": token_of("ann"), "B": token_of("ann")}
    with pytest.raises(ConfigError) as caught:
        load_directory(make_settings(tmp_path, TWO_ACCOUNTS, **env), ["acme", "globex"])
    shown = (caught.value.message + repr(caught.value.details)).encode()
    assert not leaks(shown) and b"tiny-secret" not in shown and ANN_HASH[:-3].encode() not in shown

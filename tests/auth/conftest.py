"""A team server on the Klaviyo sandbox: two accounts (acme, globex), a users file, one token per user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from klaviyo_analytics.actions import SqliteLedger
from klaviyo_analytics.auth.users import hash_password
from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.service import KlaviyoService
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.helpers import write_accounts

# Who may do what where. initech is no account at all: it must look like globex to rita.
GRANTS = {
    "rita": '{ acme = "reader" }',  # reads acme only
    "paul": '{ acme = "proposer", globex = "reader" }',
    "ann": '{ acme = "approver" }',
    "gina": '{ globex = "approver" }',
    "wally": '{ "*" = "reader" }',  # sees every account
    "zoe": "{}",  # signed in, granted nothing
}


# ann also signs in with a password (the embedded login page); its hash is in the users file.
ANN_PASSWORD = "ann's sweep password 7d3f"
ANN_HASH = hash_password(ANN_PASSWORD)


def token_of(user: str) -> str:
    return f"{user}-static-token-0123456789"


def auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(user)}"}


def users_toml() -> str:
    return "\n".join(
        f'[users.{user}]\ntokens_env = ["{user.upper()}_TOKEN"]\ngrants = {grants}\n'
        + (f'password_hash = "{ANN_HASH}"\n' if user == "ann" else "")
        for user, grants in GRANTS.items()
    )


def team_environment(sb: Sandbox, tmp: Path, **extra: str) -> dict[str, str]:
    accounts = {
        a.slug: {"api_key_env": a.key_env, "conversion_metric_id": a.conversion_metric_id, "label": a.slug.title()}
        for a in sb.accounts
    }
    users = tmp / "users.toml"
    users.write_text(users_toml())
    return {
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(write_accounts(tmp / "accounts.toml", accounts)),
        **{a.key_env: a.api_key for a in sb.accounts},
        "KLAVIYO_MCP_LEDGER_PATH": str(tmp / "ledger.sqlite3"),
        "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": "0.01",
        "KLAVIYO_MCP_REST_RATE_LIMIT": "100000/minute",
        "KLAVIYO_MCP_USERS_FILE": str(users),
        **{f"{user.upper()}_TOKEN": token_of(user) for user in GRANTS},
        **extra,
    }


@dataclass
class Team:
    sb: Sandbox
    settings: Settings
    service: KlaviyoService
    app: Flask

    @property
    def http(self) -> FlaskClient:
        return self.app.test_client()

    @property
    def ledger(self) -> SqliteLedger:
        return self.service.ledger  # type: ignore[return-value]


@pytest.fixture(scope="session")
def team_sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(time_scale=0.01))


@pytest.fixture
def team(team_sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Team]:
    team_sandbox.reset()
    extra = getattr(request, "param", {})
    settings = load_settings(team_environment(team_sandbox, tmp_path, **extra), use_dotenv=False)
    client = KlaviyoClient(settings, transport=team_sandbox.transport)
    ledger = SqliteLedger(settings.resolved_ledger_path)
    service = KlaviyoService(settings, load_registry(settings), client, ledger=ledger)
    yield Team(team_sandbox, settings, service, create_app(service=service))

"""Fixtures: the product on the Klaviyo sandbox with its REST app (and console), a signed-in test
client per role, and — for the browser tests — the app served for real on loopback."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from api import create_app
from klaviyo_analytics.auth.users import hash_password
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.actions.action_env import APPROVER_TOKEN, REST_TOKEN, Env, settings_for

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(time_scale=0.01))


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path) -> Env:
    sandbox.reset()
    sandbox.set_faults(None)
    return Env(sandbox, tmp_path, settings_for(sandbox, tmp_path, KLAVIYO_MCP_REST_RATE_LIMIT="10000/minute"))


LEAD_PASSWORD = "lead-password-0001"
ANALYST_PASSWORD = "analyst-password-0001"


def users_file(tmp: Path) -> Path:
    """A marketing lead who approves on acme, and an analyst who only reads it; both sign in with a
    password, and own the test's approver and read tokens (a users file must claim every token)."""
    path = tmp / "users.toml"
    path.write_text(
        f"""[users.lead]
name = "Lead"
password_hash = "{hash_password(LEAD_PASSWORD)}"
tokens_env = ["KLAVIYO_MCP_APPROVER_TOKENS"]
grants = {{ acme = "approver" }}

[users.analyst]
password_hash = "{hash_password(ANALYST_PASSWORD)}"
tokens_env = ["KLAVIYO_MCP_REST_API_KEY"]
grants = {{ acme = "reader" }}
"""
    )
    return path


@pytest.fixture
def users_env(sandbox: Sandbox, tmp_path: Path) -> Env:
    sandbox.reset()
    sandbox.set_faults(None)
    extra = {"KLAVIYO_MCP_REST_RATE_LIMIT": "10000/minute", "KLAVIYO_MCP_USERS_FILE": str(users_file(tmp_path))}
    return Env(sandbox, tmp_path, settings_for(sandbox, tmp_path, **extra))


@pytest.fixture
def app(env: Env) -> Flask:
    return create_app(service=env.service)


PLAN_HASH = re.compile(r'name="plan_hash" type="hidden" value="([0-9a-f]{64})"')


def plan_hash_of(html: str) -> str:
    """The plan hash the decision form carries: the page's plan, bound by the approval."""
    found = PLAN_HASH.search(html)
    assert found, "the page's decision form carries no plan_hash"
    return found.group(1)


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def signed_in(app: Flask, token: str = "", **fields: str) -> FlaskClient:
    """A client signed in with a token, or with username= and password=."""
    client = app.test_client()
    page = client.get("/console/sign-in")
    answer = client.post("/console/sign-in", data={"csrf_token": csrf_token(page.text), "token": token, **fields})
    assert answer.status_code == 302, answer.text
    return client


@pytest.fixture
def approver(app: Flask) -> FlaskClient:
    return signed_in(app, APPROVER_TOKEN)


@pytest.fixture
def reader(app: Flask) -> FlaskClient:
    return signed_in(app, REST_TOKEN)


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    """The REST app (console included) served by werkzeug on a free loopback port; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

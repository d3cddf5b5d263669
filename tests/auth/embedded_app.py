"""The embedded authorization server's routes in this process (Starlette's TestClient), for fast RFC tests."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.testclient import TestClient

from klaviyo_analytics.adapters.mcp_auth import build_auth
from klaviyo_analytics.auth.users import hash_password, load_directory
from klaviyo_analytics.config import load_settings
from tests.adapters.mcp_http.oauth_client import REDIRECT_URI, pkce

PASSWORD = "alice-rfc-password-0001"
BASE = "http://127.0.0.1:8000"
RESOURCE = BASE + "/mcp"


@dataclass
class Embedded:
    client: TestClient
    state_path: Path

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.state_path, isolation_level=None)

    def register(self, headers: dict[str, str] | None = None, **metadata: Any) -> Any:
        body = {"redirect_uris": [REDIRECT_URI], "client_name": "Test connector", **metadata}
        return self.client.post("/register", json=body, headers=headers or {})

    def login_page(self, client_id: str, challenge: str) -> tuple[str, str, str]:
        """(html, login id, csrf) of the login page an /authorize request leads to."""
        params = {
            "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge, "code_challenge_method": "S256", "state": "s", "resource": RESOURCE,
        }  # fmt: skip
        answer = self.client.get("/authorize", params=params, follow_redirects=False)
        assert answer.status_code == 302, answer.text
        page = self.client.get(answer.headers["location"])
        login_id = re.search(r'name="id" value="([^"]+)"', page.text)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert login_id and csrf, page.text
        return page.text, login_id.group(1), csrf.group(1)

    def code(self, client: dict[str, Any]) -> tuple[str, str]:
        """(code, verifier) after alice signs in and allows."""
        verifier, challenge = pkce()
        _, login_id, csrf = self.login_page(client["client_id"], challenge)
        form = {"id": login_id, "csrf": csrf, "username": "alice", "password": PASSWORD, "decision": "allow"}
        answer = self.client.post("/oauth/login", data=form, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0], verifier

    def exchange(self, client: dict[str, Any], code: str, verifier: str) -> Any:
        form = {
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "client_id": client["client_id"], "code_verifier": verifier, "resource": RESOURCE,
            **({"client_secret": client["client_secret"]} if "client_secret" in client else {}),
        }  # fmt: skip
        return self.client.post("/token", data=form)

    def tokens(self, **metadata: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        client = self.register(**metadata).json()
        answer = self.exchange(client, *self.code(client))
        assert answer.status_code == 200, answer.text
        return client, answer.json()

    def refresh(self, client: dict[str, Any], refresh_token: str) -> Any:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client["client_id"]}
        if "client_secret" in client:
            form["client_secret"] = client["client_secret"]
        return self.client.post("/token", data=form)


def embedded_app(tmp: Path, **extra: str) -> Embedded:
    (tmp / "users.toml").write_text(f'[users.alice]\npassword_hash = "{hash_password(PASSWORD)}"\ngrants = {{}}\n')
    env = {
        "KLAVIYO_MCP_OAUTH_MODE": "embedded",
        "KLAVIYO_MCP_OAUTH_STATE_PATH": str(tmp / "oauth.sqlite3"),
        "KLAVIYO_MCP_USERS_FILE": str(tmp / "users.toml"),
        "KLAVIYO_MCP_OAUTH_LOGIN_RATE_LIMIT": "1000/minute",
        "KLAVIYO_MCP_REGISTRATION_RATE_LIMIT": "1000/minute",
        **extra,
    }
    settings = load_settings(env, use_dotenv=False, config_dir=tmp)
    auth = build_auth(settings, load_directory(settings, ()))
    client = TestClient(Starlette(routes=auth.routes), base_url=BASE)
    return Embedded(client, tmp / "oauth.sqlite3")

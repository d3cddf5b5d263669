"""Two MCP HTTP servers behind one public URL, sharing only a PostgreSQL database (KLAVIYO_MCP_LEDGER_URL) and
KLAVIYO_MCP_OAUTH_SIGNING_KEY: every step of the OAuth flow may land on either instance, as behind a load balancer.

Registered on A, authorized on B, signed in on A, the code exchanged on B, the tool call on A, the
refresh on B, the revocation on A, and the revoked token refused by B.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from dotenv import dotenv_values

from klaviyo_analytics.config import load_settings
from klaviyo_analytics.errors import ConfigError
from tests.adapters.mcp_http.oauth_client import REDIRECT_URI, code_from, pkce, register
from tests.adapters.mcp_http.process import PASSWORDS, McpHttpServer, mcp_http_server
from tests.reliability.harness import REPO, free_port
from tests.servers import PostgresServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, pg_server: PostgresServer
) -> Iterator[tuple[McpHttpServer, McpHttpServer]]:
    directory = tmp_path_factory.mktemp("two-instances")
    key_line = subprocess.run(
        [sys.executable, "-m", "klaviyo_analytics", "users", "signing-key"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (directory / "key.env").write_text(key_line)
    signing_key = dotenv_values(directory / "key.env")["KLAVIYO_MCP_OAUTH_SIGNING_KEY"]
    assert signing_key is not None
    port_a, port_b = free_port(), free_port()
    # The run's PostgreSQL (tests/conftest.py), with a database only this module uses.
    shared = {
        "KLAVIYO_MCP_OAUTH_MODE": "embedded",
        "KLAVIYO_MCP_OAUTH_LOGIN_RATE_LIMIT": "1000/minute",
        "KLAVIYO_MCP_REGISTRATION_RATE_LIMIT": "1000/minute",
        "KLAVIYO_MCP_LEDGER_URL": pg_server.fresh_database("team"),
        "KLAVIYO_MCP_OAUTH_SIGNING_KEY": signing_key,
        "KLAVIYO_MCP_APPROVAL_SECRET": "approval-secret-of-the-two-instances-0001",
        "KLAVIYO_MCP_HTTP_PUBLIC_URL": f"http://127.0.0.1:{port_a}",  # what the load balancer would be
    }
    with (
        mcp_http_server(directory / "a", port_a, **shared) as a,
        mcp_http_server(directory / "b", port_b, **shared) as b,
    ):
        yield a, b
    assert not list(directory.glob("[ab]/**/oauth*")), "no instance kept OAuth state or a key of its own"


def mcp_call(base: str, token: str, method: str) -> httpx.Response:
    return httpx.post(
        base + "/mcp",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": method},
    )


def test_every_step_of_the_oauth_flow_may_land_on_either_instance(pair: tuple[McpHttpServer, McpHttpServer]) -> None:
    a, b = pair
    resource = a.mcp_url  # both instances answer for the public URL
    client = register(a.url).json()
    verifier, challenge = pkce()
    with httpx.Client() as browser:
        authorize = browser.get(
            b.url + "/authorize",
            params={
                "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
                "code_challenge": challenge, "code_challenge_method": "S256", "state": "state-123",
                "resource": resource,
            },
        )  # fmt: skip
        assert authorize.status_code == 302, authorize.text  # B knows the client A registered
        login_path = urlsplit(authorize.headers["location"])
        page = browser.get(f"{a.url}{login_path.path}?{login_path.query}")  # the login B began, shown by A
        assert page.status_code == 200, page.text
        fields = dict(re.findall(r'name="(id|csrf)" value="([^"]+)"', page.text))
        answer = browser.post(
            a.url + "/oauth/login",
            data={**fields, "username": "alice", "password": PASSWORDS["alice"], "decision": "allow"},
        )
        code = code_from(answer)
    secret = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    exchanged = httpx.post(
        b.url + "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
              "code_verifier": verifier, "resource": resource, **secret},
    )  # fmt: skip
    assert exchanged.status_code == 200, exchanged.text
    tokens = exchanged.json()
    assert mcp_call(a.url, tokens["access_token"], "tools/list").status_code == 200
    # A code is single use wherever it is presented.
    replay = httpx.post(
        a.url + "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
              "code_verifier": verifier, "resource": resource, **secret},
    )  # fmt: skip
    assert replay.status_code == 400
    refreshed = httpx.post(
        b.url + "/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **secret}
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()["access_token"]
    assert mcp_call(b.url, second, "tools/list").status_code == 200
    assert httpx.post(a.url + "/revoke", data={"token": second, **secret}).status_code == 200
    for base in (a.url, b.url):
        refused = mcp_call(base, second, "tools/list")
        assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]


def test_shared_oauth_state_without_a_shared_signing_key_is_refused_at_start(tmp_path: Path) -> None:
    from klaviyo_analytics.auth.oauth_store import open_oauth_store

    settings = load_settings({"KLAVIYO_MCP_LEDGER_URL": "postgresql://klaviyo@127.0.0.1:1/x"}, use_dotenv=False)
    with pytest.raises(ConfigError, match="set KLAVIYO_MCP_OAUTH_SIGNING_KEY") as caught:
        open_oauth_store(settings)
    assert caught.value.details["variable"] == "KLAVIYO_MCP_OAUTH_SIGNING_KEY"

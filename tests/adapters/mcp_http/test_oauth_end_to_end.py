"""The whole OAuth 2.1 flow against server.py running as a real process, driven by the SDK's own client.

The SDK's OAuthClientProvider discovers the protected-resource and authorization-server metadata from
the 401, registers a client (RFC 7591), and starts PKCE authorization; its redirect handler here plays
the browser (the login page's form posted with httpx). Then a tool call over the SDK's Streamable HTTP
client runs as the logged-in user, the refresh token is exchanged (and rotated), and revocation ends it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from tests.adapters.mcp_http.oauth_client import REDIRECT_URI
from tests.adapters.mcp_http.process import PASSWORDS, McpHttpServer

pytestmark = pytest.mark.slow


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def browser_login(base: str, user: str, password: str) -> tuple[Any, list[AuthorizationCodeResult], list[str]]:
    """A redirect handler that signs in on the login page, and the callback that hands back the code."""
    results: list[AuthorizationCodeResult] = []
    pages: list[str] = []

    async def redirect_handler(authorization_url: str) -> None:
        def sign_in() -> None:
            with httpx.Client() as browser:
                to_login = browser.get(authorization_url)
                assert to_login.status_code == 302, to_login.text
                page = browser.get(to_login.headers["location"])
                pages.append(page.text)
                fields = dict(re.findall(r'name="(id|csrf)" value="([^"]+)"', page.text))
                answer = browser.post(
                    base + "/oauth/login",
                    data={**fields, "username": user, "password": password, "decision": "allow"},
                )
                assert answer.status_code == 303, answer.text
                location = answer.headers["location"]
                assert location.startswith(REDIRECT_URI)
                query = parse_qs(urlsplit(location).query)
                results.append(
                    AuthorizationCodeResult(code=query["code"][0], state=query["state"][0], iss=query["iss"][0])
                )

        await anyio.to_thread.run_sync(sign_in)

    async def callback_handler() -> AuthorizationCodeResult:
        return results[-1]

    return (redirect_handler, callback_handler), results, pages


def test_sdk_client_through_registration_login_token_call_refresh_and_revocation(embedded: McpHttpServer) -> None:
    storage = MemoryStorage()
    (redirect_handler, callback_handler), results, pages = browser_login(embedded.url, "alice", PASSWORDS["alice"])
    oauth = OAuthClientProvider(
        server_url=embedded.mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="Claude-like connector",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )

    async def session() -> tuple[Any, Any]:
        async with (
            httpx2.AsyncClient(auth=oauth, timeout=30) as http,
            Client(streamable_http_client(embedded.mcp_url, http_client=http)) as client,
        ):
            return await client.list_tools(), await client.call_tool("klaviyo_list_accounts", {})

    tools, accounts = anyio.run(session)
    # Registration happened (no manual client set-up) and the login page was shown once.
    assert storage.client is not None and storage.client.client_id and storage.client.client_secret
    assert len(results) == 1 and "Claude-like connector" in pages[0]
    assert storage.tokens is not None and storage.tokens.refresh_token
    assert "klaviyo_get_campaign_performance" in {t.name for t in tools.tools}
    # The call ran as alice: she sees exactly her two granted accounts.
    assert accounts.is_error is False, accounts.structured_content
    names = sorted(a["name"] for a in accounts.structured_content["data"]["accounts"])
    assert names == sorted(a.slug for a in embedded.sandbox.accounts[:2])
    log = embedded.stderr()
    assert '"caller": "alice"' in log
    requests = [line for line in log.splitlines() if '"http.request"' in line]
    assert any('"path": "/oauth/login"' in line for line in requests)
    assert not any("?" in line or "id=" in line for line in requests)  # no query strings: they carry login ids

    first_access = storage.tokens.access_token
    first_refresh = storage.tokens.refresh_token
    client_auth = {"client_id": storage.client.client_id, "client_secret": storage.client.client_secret}
    refreshed = httpx.post(
        embedded.url + "/token",
        data={"grant_type": "refresh_token", "refresh_token": first_refresh, **client_auth},
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first_refresh and second["access_token"] != first_access  # rotated

    def tools_list(token: str) -> httpx.Response:
        return httpx.post(
            embedded.mcp_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )

    assert tools_list(second["access_token"]).status_code == 200
    revoked = httpx.post(embedded.url + "/revoke", data={"token": second["access_token"], **client_auth})
    assert revoked.status_code == 200
    for token in (second["access_token"], first_access):  # the grant is gone, with every token of it
        refused = tools_list(token)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
        assert "resource_metadata=" in refused.headers["www-authenticate"]
    again = httpx.post(
        embedded.url + "/token",
        data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"], **client_auth},
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_readme_connector_recipe_is_what_the_end_to_end_test_runs() -> None:
    """The docs' block: the server command the end-to-end test starts, with settings that exist."""
    import shlex
    from pathlib import Path

    from klaviyo_analytics.config import SETTINGS
    from tests.adapters.mcp_http.process import server_argv
    from tests.readme_recipes import recipe

    block = recipe("Connect Claude's custom connector", "test_readme_connector_recipe_is_what_the_end_to_end_test_runs")
    lines = [line.split("#", 1)[0].strip() for line in block.code.splitlines() if line.strip()]
    assert lines[0] == ".venv/bin/python -m klaviyo_analytics users hash-password"
    exported = dict(word.split("=", 1) for word in shlex.split(lines[1])[1:])
    assert set(exported) <= {s.name for s in SETTINGS}
    assert (
        exported["KLAVIYO_MCP_OAUTH_MODE"] == "embedded" and exported["KLAVIYO_MCP_USERS_FILE"]
    )  # as the embedded fixture runs it
    command = shlex.split(lines[2])
    started = server_argv(8000)
    assert command[0] == ".venv/bin/python" and command[1] == Path(started[1]).name == "server.py"
    assert command[2:] == started[2:]

"""The SDK's OAuth client signing in with a Client ID Metadata Document, against server.py as a process.

The document is served by the test over https on loopback (tests/auth/cimd_server.py); the server
reaches it through KLAVIYO_MCP_OAUTH_CIMD_TEST_CA_FILE, the test-only allowance. The SDK's
OAuthClientProvider sees ``client_id_metadata_document_supported`` and uses the URL as its client id
instead of registering; then a tool call, the SDK's own refresh once the access token has run out,
and a revocation, all as a public client (its client id alone, no secret).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

from tests.adapters.mcp_http.oauth_client import REDIRECT_URI
from tests.adapters.mcp_http.process import PASSWORDS, McpHttpServer, mcp_http_server
from tests.adapters.mcp_http.test_oauth_end_to_end import MemoryStorage, browser_login
from tests.auth.cimd_server import DocumentServer, document_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentServer]:
    with document_server(tmp_path_factory.mktemp("cimd-docs")) as server:
        yield server


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, docs: DocumentServer) -> Iterator[McpHttpServer]:
    with mcp_http_server(
        tmp_path_factory.mktemp("cimd"),
        KLAVIYO_MCP_OAUTH_MODE="embedded",
        KLAVIYO_MCP_OAUTH_LOGIN_RATE_LIMIT="1000/minute",
        KLAVIYO_MCP_OAUTH_CIMD_TEST_CA_FILE=str(docs.ca_file),
    ) as server:
        yield server


def test_sdk_client_signs_in_with_a_metadata_document_calls_refreshes_and_revokes(
    node: McpHttpServer, docs: DocumentServer
) -> None:
    client_id = docs.document("/oauth/claude-like.json", client_name="Claude-like CIMD connector")
    storage = MemoryStorage()
    (redirect_handler, callback_handler), results, pages = browser_login(node.url, "alice", PASSWORDS["alice"])
    oauth = OAuthClientProvider(
        server_url=node.mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="Claude-like CIMD connector",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=client_id,
    )

    async def session() -> tuple[Any, Any]:
        async with (
            httpx2.AsyncClient(auth=oauth, timeout=30) as http,
            Client(streamable_http_client(node.mcp_url, http_client=http)) as client,
        ):
            return await client.list_tools(), await client.call_tool("klaviyo_list_accounts", {})

    tools, accounts = anyio.run(session)
    # The URL is the client id: nothing was registered, and the SDK checked iss (RFC 9207) on the way.
    assert storage.client is not None and storage.client.client_id == client_id
    assert storage.client.client_secret is None
    log = node.stderr()
    assert '"path": "/register"' not in log
    assert len(results) == 1 and results[0].iss == node.url
    assert "Claude-like CIMD connector" in pages[0] and docs.base.removeprefix("https://") in pages[0]
    assert "klaviyo_get_campaign_performance" in {t.name for t in tools.tools}
    assert accounts.is_error is False, accounts.structured_content
    names = sorted(a["name"] for a in accounts.structured_content["data"]["accounts"])
    assert names == sorted(a.slug for a in node.sandbox.accounts[:2])  # ran as alice

    # The access token has run out (as the SDK reckons): its next request refreshes, as a public client.
    assert storage.tokens is not None and storage.tokens.refresh_token
    first_refresh = storage.tokens.refresh_token
    # The SDK compares this expiry with the machine's epoch time; one second after 1970 is past on any date.
    oauth.context.token_expiry_time = 1.0
    again = anyio.run(session)[1]
    assert again.is_error is False and len(results) == 1  # no second sign-in
    assert storage.tokens.refresh_token != first_refresh  # rotated by the SDK's refresh
    assert '"path": "/token"' in node.stderr() and '"path": "/register"' not in node.stderr()
    second = storage.tokens
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Authorization": f"Bearer {second.access_token}", "Accept": "application/json, text/event-stream"}
    assert httpx.post(node.mcp_url, headers=headers, json=listing).status_code == 200
    revoked = httpx.post(node.url + "/revoke", data={"token": second.refresh_token, "client_id": client_id})
    assert revoked.status_code == 200
    assert httpx.post(node.mcp_url, headers=headers, json=listing).status_code == 401  # the grant ended
    reused = httpx.post(
        node.url + "/token",
        data={"grant_type": "refresh_token", "refresh_token": second.refresh_token, "client_id": client_id},
    )
    assert reused.json()["error"] == "invalid_grant"
    assert docs.hits["/oauth/claude-like.json"] == 1  # one fetch served the whole sign-in (cached)

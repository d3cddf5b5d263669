"""The Streamable HTTP server at each protocol revision the SDK speaks, with the SDK's own client.

mcp 2.3.0 speaks 2026-07-28 (stateless: ``server/discover``, the ``_meta`` envelope, ``Mcp-Method``
headers, ``ttlMs``/``cacheScope``) and the handshake revisions up to 2025-11-25. One server process;
the client in ``auto`` mode (discovery), pinned to 2026-07-28, and in ``legacy`` mode (initialize at
2025-11-25) runs the same session: tools, a call, a tool error, a protocol error, the chart app's
``ui://`` resource. 2025-06-18 is driven with raw JSON-RPC (the SDK's client offers 2025-11-25 only).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from klaviyo_analytics.adapters.mcp_cache import CATALOG_TTL_MS
from klaviyo_analytics.render.chart_app import CHART_URI
from tests.adapters.mcp_http.process import ALICE_TOKEN, McpHttpServer, mcp_http_server

pytestmark = pytest.mark.slow
AUTH = {"Authorization": f"Bearer {ALICE_TOKEN}"}
ACCEPT = {"Accept": "application/json, text/event-stream", **AUTH}
MODES = {"auto": "2026-07-28", "2026-07-28": "2026-07-28", "legacy": "2025-11-25"}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpHttpServer]:
    with mcp_http_server(tmp_path_factory.mktemp("revisions"), KLAVIYO_MCP_OAUTH_MODE="off") as server:
        yield server


def session(url: str, mode: str, steps: Any) -> Any:
    async def run() -> Any:
        http = httpx2.AsyncClient(headers=AUTH, timeout=30)
        async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            return await steps(client)

    return anyio.run(run)


@pytest.mark.parametrize("mode", MODES)
def test_one_session_at_each_revision(node: McpHttpServer, mode: str) -> None:
    async def steps(client: Client) -> dict[str, Any]:
        tools = await client.list_tools()
        accounts = await client.call_tool("klaviyo_list_accounts", {})
        refused = await client.call_tool("klaviyo_get_campaign_performance", {"account": "initech"})
        try:
            await client.read_resource("ui://klaviyo-mcp/missing.html")
            missing: MCPError | None = None
        except MCPError as exc:
            missing = exc
        resources = await client.list_resources()
        chart = await client.read_resource(CHART_URI)
        return {
            "version": client.protocol_version, "tools": tools, "accounts": accounts, "refused": refused,
            "missing": missing, "resources": resources, "chart": chart, "caps": client.server_capabilities,
        }  # fmt: skip

    got = session(node.mcp_url, mode, steps)
    assert got["version"] == MODES[mode]
    by_name = {t.name: t for t in got["tools"].tools}
    assert by_name["klaviyo_get_performance_over_time"].meta == {"ui": {"resourceUri": CHART_URI}}
    assert got["accounts"].is_error is False
    assert {a["name"] for a in got["accounts"].structured_content["data"]["accounts"]} == {
        a.slug for a in node.sandbox.accounts[:2]
    }
    # A tool error is a result (the product's one error shape); a protocol error is a JSON-RPC error.
    assert got["refused"].is_error is True
    assert got["refused"].structured_content["error"]["code"] == "FORBIDDEN"
    assert got["missing"] is not None and "missing.html" in str(got["missing"])
    assert [str(r.uri) for r in got["resources"].resources] == [CHART_URI]
    page = got["chart"].contents[0]
    assert page.mime_type == "text/html;profile=mcp-app" and "<html" in page.text.lower()
    # Nothing is ever announced as changed: the catalog is fixed for the life of the process.
    assert not (got["caps"].tools and got["caps"].tools.list_changed)
    if MODES[mode] == "2026-07-28":
        for result in (got["tools"], got["resources"], got["chart"]):
            assert (result.ttl_ms, result.cache_scope) == (CATALOG_TTL_MS, "public")


def _rpc(node: McpHttpServer, method: str, version: str, params: dict[str, Any] | None = None) -> httpx.Response:
    headers = {**ACCEPT, "MCP-Protocol-Version": version}
    if version == "2026-07-28":
        headers["Mcp-Method"] = method
        if params and "name" in params:
            headers["Mcp-Name"] = params["name"]
        meta = {
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        params = {**(params or {}), "_meta": meta}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params is not None else {})}
    return httpx.post(node.mcp_url, headers=headers, json=body)


def test_discovery_says_which_revisions_and_that_the_catalog_keeps(node: McpHttpServer) -> None:
    found = _rpc(node, "server/discover", "2026-07-28")
    assert found.status_code == 200 and "mcp-session-id" not in found.headers  # stateless
    result = found.json()["result"]
    assert result["supportedVersions"] == ["2026-07-28"]  # the handshake revisions answer initialize (below)
    assert (result["ttlMs"], result["cacheScope"]) == (CATALOG_TTL_MS, "public")
    capabilities = result["capabilities"]
    assert not capabilities["tools"].get("listChanged") and not capabilities["resources"].get("subscribe")
    listen = _rpc(node, "subscriptions/listen", "2026-07-28", {"notifications": {"toolsListChanged": True}})
    assert listen.json()["error"]["code"] == -32601  # method not found: there is nothing to listen for


def test_the_handshake_revisions_carry_no_cache_fields(node: McpHttpServer) -> None:
    for version in ("2025-11-25", "2025-06-18"):
        hello = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
        initialized = _rpc(node, "initialize", version, hello)
        assert initialized.json()["result"]["protocolVersion"] == version
        listed = _rpc(node, "tools/list", version).json()["result"]
        assert "klaviyo_list_accounts" in {t["name"] for t in listed["tools"]}
        assert "ttlMs" not in listed and "cacheScope" not in listed  # fields that revision does not have


def test_tool_calls_carry_no_cache_hint_even_when_their_data_came_from_the_cache(node: McpHttpServer) -> None:
    # tools/call is not cacheable in 2026-07-28; the Klaviyo read cache's freshness stays in the envelope.
    for _ in range(2):
        called = _rpc(node, "tools/call", "2026-07-28", {"name": "klaviyo_list_accounts", "arguments": {}})
        result = called.json()["result"]
        assert "ttlMs" not in result and "cacheScope" not in result
        assert result["isError"] is False

"""The third adapter: MCP over Streamable HTTP returns the same tools, schemas and envelopes as stdio and REST."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from flask import Flask

from klaviyo_analytics.service import KlaviyoService
from tests.adapters.conftest import REST_TOKEN
from tests.adapters.mcp_http.inprocess import call, http_app, list_tools, running
from tests.adapters.test_mcp import call as stdio_call
from tests.adapters.test_mcp import list_tools as stdio_list_tools


def dumped(tools: list[Any]) -> list[dict[str, Any]]:
    return sorted((t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools), key=lambda t: t["name"])


def test_http_lists_the_same_tools_and_schemas_as_stdio_and_rest(service: KlaviyoService, app: Flask) -> None:
    over_http = dumped(anyio.run(list_tools, http_app(service), REST_TOKEN))
    assert over_http == dumped(anyio.run(stdio_list_tools, service))
    rest = app.test_client().get("/v1/tools", headers={"Authorization": f"Bearer {REST_TOKEN}"}).json["tools"]
    assert sorted(t["name"] for t in over_http) == sorted(t["name"] for t in rest)


def test_http_stdio_and_rest_return_identical_envelopes(service: KlaviyoService, app: Flask) -> None:
    arguments = {"account": "acme", "timeframe": "last_30_days"}
    over_http = anyio.run(call, http_app(service), REST_TOKEN, "klaviyo_get_campaign_performance", arguments)
    in_process = anyio.run(stdio_call, service, "klaviyo_get_campaign_performance", arguments)
    rest = (
        app.test_client()
        .post("/v1/campaigns/performance", json=arguments, headers={"Authorization": f"Bearer {REST_TOKEN}"})
        .json
    )
    payloads = [over_http.structured_content, in_process.structured_content, rest]
    for payload in payloads:
        payload["metadata"].pop("latency_ms")
    assert payloads[0] == payloads[1] == payloads[2]
    assert payloads[0]["data"]["campaigns"][0]["campaign_name"] == "Spring Sale"
    assert "Spring Sale" in over_http.content[0].text


def test_http_errors_are_the_same_error_results(service: KlaviyoService) -> None:
    arguments = {"account": "acme", "timeframe": "fortnight"}
    over_http = anyio.run(call, http_app(service), REST_TOKEN, "klaviyo_get_campaign_performance", arguments)
    in_process = anyio.run(stdio_call, service, "klaviyo_get_campaign_performance", arguments)
    assert over_http.is_error is in_process.is_error is True
    assert over_http.structured_content == in_process.structured_content
    assert over_http.structured_content["error"]["details"]["field"] == "timeframe"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token-of-this-server", "Basic abc"])
def test_http_refuses_a_missing_or_unknown_token_with_www_authenticate(
    service: KlaviyoService, authorization: str | None
) -> None:
    async def post() -> Any:
        async with running(http_app(service)) as raw:
            headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
            if authorization:
                headers["Authorization"] = authorization
            return await raw.post("/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})

    response = anyio.run(post)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
    assert 'resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"' in challenge

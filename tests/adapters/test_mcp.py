"""The MCP adapter: generated from the catalog, typed output, errors as error results."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from flask import Flask
from mcp import Client

import server
from api import create_app
from klaviyo_analytics.service import KlaviyoService
from klaviyo_analytics.tools import CATALOG
from tests.adapters.conftest import REST_TOKEN

SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "tools_list.json"


async def list_tools(service: KlaviyoService) -> list[Any]:
    async with Client(server.build_server(service=service)) as client:
        return (await client.list_tools()).tools


async def call(service: KlaviyoService, name: str, arguments: dict[str, Any]) -> Any:
    async with Client(server.build_server(service=service)) as client:
        return await client.call_tool(name, arguments)


def test_tool_names_match_the_rest_catalogue(service: KlaviyoService, app: Flask) -> None:
    tools = anyio.run(list_tools, service)
    rest = app.test_client().get("/v1/tools", headers={"Authorization": f"Bearer {REST_TOKEN}"}).json["tools"]
    assert sorted(t.name for t in tools) == sorted(t["name"] for t in rest) == sorted(s.name for s in CATALOG)


def test_every_tool_declares_read_only_and_an_output_schema(service: KlaviyoService) -> None:
    for tool in anyio.run(list_tools, service):
        assert tool.annotations is not None and tool.annotations.read_only_hint is not None
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.input_schema.get("additionalProperties") is False


def test_tools_list_matches_the_reviewed_snapshot(service: KlaviyoService) -> None:
    tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in anyio.run(list_tools, service)]
    current = json.dumps(tools, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.read_text() == current, "tools/list changed: review it, then run UPDATE_SNAPSHOTS=1 make test"


def test_mcp_and_rest_return_identical_payloads(service: KlaviyoService, app: Flask) -> None:
    arguments = {"account": "acme", "timeframe": "last_30_days"}
    result = anyio.run(call, service, "klaviyo_get_campaign_performance", arguments)
    assert result.is_error is False
    rest = app.test_client().post(
        "/v1/campaigns/performance", json=arguments, headers={"Authorization": f"Bearer {REST_TOKEN}"}
    )
    mcp_payload, rest_payload = result.structured_content, rest.json
    for payload in (mcp_payload, rest_payload):
        payload["metadata"].pop("latency_ms")
    assert mcp_payload == rest_payload
    assert mcp_payload["data"]["campaigns"][0]["campaign_name"] == "Spring Sale"
    assert mcp_payload["metadata"]["period"] == {"start_date": "2026-02-13", "end_date": "2026-03-14"}
    assert mcp_payload["warnings"]  # warnings ride inside the structured content
    assert "Spring Sale" in result.content[0].text  # and the text rendering carries the data too


@pytest.mark.parametrize(
    ("arguments", "code", "field"),
    [
        ({"account": "acme", "timeframe": "fortnight"}, "INVALID_ARGUMENT", "timeframe"),
        ({"account": "acme", "timeframe": "today", "extra": 1}, "INVALID_ARGUMENT", "extra"),
        ({"timeframe": "today"}, "INVALID_ARGUMENT", "account"),
        ({"account": "initech", "timeframe": "today"}, "UNKNOWN_ACCOUNT", "account"),
    ],
)
def test_bad_input_is_an_error_result_naming_the_field(
    service: KlaviyoService, arguments: dict[str, Any], code: str, field: str
) -> None:
    result = anyio.run(call, service, "klaviyo_get_campaign_performance", arguments)
    assert result.is_error is True
    assert result.structured_content["error"]["code"] == code
    assert result.structured_content["error"]["details"]["field"] == field
    assert result.content[0].text.startswith(code)


def test_upstream_errors_become_error_results(service: KlaviyoService, fake: Any) -> None:
    from tests.helpers import jsonapi

    fake.route(
        "POST", "/api/campaign-values-reports", lambda r: jsonapi({"errors": [{"code": "permission_denied"}]}, 403)
    )
    result = anyio.run(call, service, "klaviyo_get_campaign_performance", {"account": "acme", "timeframe": "today"})
    assert result.is_error is True
    assert result.structured_content["error"]["code"] == "MISSING_SCOPE"
    assert "campaigns:read" in result.structured_content["error"]["message"]


def test_crashes_are_reported_without_internals(service: KlaviyoService) -> None:
    service.registry = None  # type: ignore[assignment]
    result = anyio.run(call, service, "klaviyo_list_accounts", {})
    assert result.is_error is True
    assert result.structured_content["error"]["code"] == "INTERNAL_ERROR"
    assert "NoneType" not in result.content[0].text


def test_read_only_hides_write_tools(service: KlaviyoService, monkeypatch: pytest.MonkeyPatch) -> None:
    from klaviyo_analytics.tools import catalog

    writer = replace(CATALOG[0], name="klaviyo_propose_something", read_only=False)
    monkeypatch.setattr(catalog, "CATALOG", (*catalog.CATALOG, writer))
    assert "klaviyo_propose_something" in {t.name for t in anyio.run(list_tools, service)}
    service.settings = replace(service.settings, read_only=True)
    names = {t.name for t in anyio.run(list_tools, service)}
    assert "klaviyo_propose_something" not in names
    assert names == {s.name for s in catalog.CATALOG if s.read_only}


TOOL_BUDGET = 1024  # bytes of compact JSON per tool, on average: the catalog costs context on every turn


def test_tools_list_stays_within_its_byte_budget(service: KlaviyoService) -> None:
    tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in anyio.run(list_tools, service)]
    size = len(json.dumps({"tools": tools}, separators=(",", ":")))
    assert size <= TOOL_BUDGET * len(tools), f"tools/list is {size} bytes for {len(tools)} tools"


def test_toolsets_keep_tools_list_to_what_a_client_needs(service: KlaviyoService) -> None:
    from klaviyo_analytics.errors import ConfigError

    service.settings = replace(service.settings, toolsets=("insights",))
    names = {t.name for t in anyio.run(list_tools, service)}
    insights = {s.name for s in CATALOG if s.toolset == "insights"}
    assert names == insights | {"klaviyo_list_accounts"} and len(insights) == 5
    rest = create_app(service=service).test_client().get("/v1/tools", headers={"Authorization": f"Bearer {REST_TOKEN}"})
    assert {t["name"] for t in rest.json["tools"]} == names
    service.settings = replace(service.settings, toolsets=("insight",))
    with pytest.raises(ConfigError) as caught:
        server.build_server(service=service)
    assert "insights" in caught.value.message and caught.value.details["setting"] == "KLAVIYO_MCP_TOOLSETS"

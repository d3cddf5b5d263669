"""The list and segment tools through both adapters: REST routes, MCP tools, errors naming the field."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp import Client

import server
from api import create_app
from klaviyo_analytics.tools import CATALOG
from tests.lists.conftest import REST_TOKEN, World

AUTH = {"Authorization": f"Bearer {REST_TOKEN}"}
ROUTES = {
    "klaviyo_get_list_health": ("GET", "/v1/lists/health"),
    "klaviyo_get_list_growth": ("POST", "/v1/lists/growth"),
    "klaviyo_get_list_growth_by_list": ("POST", "/v1/lists/growth-by-list"),
    "klaviyo_get_list_breakdown": ("POST", "/v1/lists/breakdown"),
    "klaviyo_get_segments": ("GET", "/v1/segments"),
    "klaviyo_get_segment_growth": ("POST", "/v1/segments/growth"),
}
WINDOW = {"timeframe": "last_30_days"}


async def mcp_tools(world: World) -> list[Any]:
    async with Client(server.build_server(service=world.svc)) as client:
        return (await client.list_tools()).tools


async def mcp_call(world: World, name: str, arguments: dict[str, Any]) -> Any:
    async with Client(server.build_server(service=world.svc)) as client:
        return await client.call_tool(name, arguments)


def test_catalog_entries_are_read_only_with_scopes() -> None:
    specs = {s.name: s for s in CATALOG if s.name in ROUTES}
    assert {name: (s.method, s.path) for name, s in specs.items()} == ROUTES
    assert all(s.read_only and s.scopes for s in specs.values())
    assert "segments:read" in specs["klaviyo_get_segment_growth"].scopes
    assert "metrics:read" in specs["klaviyo_get_list_breakdown"].scopes


def test_the_six_tools_cost_little_context(world: World) -> None:
    tools = [t for t in anyio.run(mcp_tools, world) if t.name in ROUTES]
    assert len(tools) == 6
    size = len(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]))
    assert size <= 8000  # ~1.3 KB a tool keeps ~20 tools within the 25 KB budget of tools/list
    assert all(len(t.description) <= 160 for t in tools)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_every_route_answers_with_the_envelope(world: World, name: str) -> None:
    method, path = ROUTES[name]
    client = create_app(service=world.svc).test_client()
    response = client.get(path, headers=AUTH) if method == "GET" else client.post(path, json=WINDOW, headers=AUTH)
    assert response.status_code == 200, response.json
    assert set(response.json) == {"data", "metadata", "warnings"}
    assert response.json["metadata"]["account"] == "acme"


def test_mcp_and_rest_return_the_same_list_health(world: World) -> None:
    result = anyio.run(mcp_call, world, "klaviyo_get_list_health", {})
    assert result.is_error is False
    rest = create_app(service=world.svc).test_client().get("/v1/lists/health", headers=AUTH).json
    mcp_payload = result.structured_content
    for payload in (mcp_payload, rest):
        payload["metadata"].pop("latency_ms")
    assert mcp_payload == rest
    assert mcp_payload["data"]["list_count"] == 12 and mcp_payload["metadata"]["partial"] is False


@pytest.mark.parametrize(
    ("method", "path", "arguments", "field"),
    [
        ("GET", "/v1/lists/health", {"list_id": "../etc"}, "list_id"),
        ("GET", "/v1/lists/health", {"colour": "red"}, "colour"),
        ("GET", "/v1/segments", {"segment_id": "a b"}, "segment_id"),
        ("POST", "/v1/lists/growth", {}, "timeframe"),
        ("POST", "/v1/lists/growth-by-list", {"start_date": "2026-02-30", "end_date": "2026-03-01"}, "start_date"),
        ("POST", "/v1/lists/breakdown", {"timeframe": "fortnight"}, "timeframe"),
        ("POST", "/v1/segments/growth", {**WINDOW, "interval": "hourly"}, "interval"),
        ("POST", "/v1/segments/growth", {"start_date": "2023-01-01", "end_date": "2023-12-31"}, "start_date"),
        ("POST", "/v1/segments/growth", {**WINDOW, "segment_id": "x/y"}, "segment_id"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_field(
    world: World, method: str, path: str, arguments: dict[str, str], field: str
) -> None:
    client = create_app(service=world.svc).test_client()
    if method == "GET":
        response = client.get(path, query_string=arguments, headers=AUTH)
    else:
        response = client.post(path, json=arguments, headers=AUTH)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "INVALID_ARGUMENT"
    assert response.json["error"]["details"]["field"] == field
    name = next(n for n, route in ROUTES.items() if route == (method, path))
    result = anyio.run(mcp_call, world, name, arguments)
    assert result.is_error is True
    assert result.structured_content["error"]["details"]["field"] == field

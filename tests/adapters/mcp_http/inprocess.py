"""The MCP HTTP app in this process: the SDK's Streamable HTTP client over an ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette

import server
from klaviyo_analytics.adapters.mcp_auth import build_auth
from klaviyo_analytics.adapters.mcp_http import build_http_app
from klaviyo_analytics.auth.users import load_directory
from klaviyo_analytics.service import KlaviyoService

BASE = "http://127.0.0.1:8000"


def http_app(service: KlaviyoService) -> Starlette:
    settings = service.settings
    directory = load_directory(settings, service.registry.names)
    return build_http_app(settings, server.build_server(service=service), build_auth(settings, directory))


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    """The app with its lifespan (the session manager) running, and a raw client on it."""
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as raw,
    ):
        yield raw


@asynccontextmanager
async def mcp_client(app: Starlette, token: str) -> AsyncIterator[Client]:
    async with running(app):
        http = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url=BASE, headers={"Authorization": f"Bearer {token}"}
        )
        async with http, Client(streamable_http_client(f"{BASE}/mcp", http_client=http)) as client:
            yield client


async def list_tools(app: Starlette, token: str) -> list[Any]:
    async with mcp_client(app, token) as client:
        return (await client.list_tools()).tools


async def call(app: Starlette, token: str, name: str, arguments: dict[str, Any]) -> Any:
    async with mcp_client(app, token) as client:
        return await client.call_tool(name, arguments)

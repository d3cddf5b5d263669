"""The MCP server over Streamable HTTP: the SDK's stateless app at ``/mcp``, behind bearer auth, run by uvicorn.

Stateless (a fresh transport per request, JSON responses) so any instance behind a load balancer can
answer any request. Slow clients cannot hold the server: uvicorn's event loop serves other connections
while one dribbles, a connection that has not finished its headers within
KLAVIYO_MCP_HTTP_HEADER_TIMEOUT_SECONDS is closed, a body that stalls longer than
KLAVIYO_MCP_HTTP_BODY_TIMEOUT_SECONDS gets 408, bodies past KLAVIYO_MCP_HTTP_MAX_BODY_BYTES get 413, and
past KLAVIYO_MCP_HTTP_MAX_CONNECTIONS open connections new requests get 503.
A JSON body with a key twice in one object is refused (400, JSON-RPC -32600 naming the key) after
auth and before the SDK parses it, which would keep the last (REST refuses it the same way).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import RequestBodyLimitMiddleware, TransportSecuritySettings
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from klaviyo_analytics.adapters.jsonrpc import duplicate_key, duplicate_key_error
from klaviyo_analytics.config import Settings
from klaviyo_analytics.logs import get_logger

if TYPE_CHECKING:
    from klaviyo_analytics.adapters.mcp_auth import HttpAuth

log = get_logger("klaviyo_analytics.mcp_http")
MCP_PATH = "/mcp"
LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")


def public_url(settings: Settings) -> str:
    return settings.mcp_public_url or f"http://{settings.mcp_host}:{settings.mcp_port}"


def resource_url(settings: Settings) -> str:
    """The MCP endpoint's own URL: the RFC 8707 resource that tokens are bound to."""
    return public_url(settings) + MCP_PATH


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection: only the public URL's host (and loopback) in Host, only its origin in Origin."""
    public = urlsplit(public_url(settings))
    hosts = settings.mcp_allowed_hosts or (public.netloc, *LOOPBACK_HOSTS)
    origins = settings.mcp_allowed_origins or (f"{public.scheme}://{public.netloc}", *LOOPBACK_ORIGINS)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=list(hosts), allowed_origins=list(origins)
    )


class BodyTimeout:
    """408 when a client stops sending its body for longer than ``seconds`` (uvicorn has no read timeout)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def timed_receive() -> Message:
            with anyio.fail_after(self.seconds):
                return await receive()

        try:
            await self.app(scope, timed_receive, tracked_send)
        except TimeoutError:
            if not started:
                body = {"error": "request_timeout", "error_description": "the request body did not arrive in time"}
                await JSONResponse(body, status_code=408, headers={"Connection": "close"})(scope, receive, send)


class RefuseDuplicateKeys:
    """400 for a POST body with a key twice in one object (``{"name": "a", "name": "b"}`` ran as "b")."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:  # the body limit outside has buffered the (bounded) body already
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        key = duplicate_key(body)
        if key is not None:
            log.info("mcp.duplicate_key", key=key[:64])
            await JSONResponse(duplicate_key_error(key), status_code=400)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class RequestLog:
    """One log line per request: method, path (never the query string: it carries login ids), status, time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def tracked_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        finally:
            log.info(
                "http.request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
            )


def guarded_protocol(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request headers take longer than ``header_timeout``."""

    class HeaderTimeoutProtocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            cycle = self.cycle
            super().data_received(data)
            if self.cycle is not cycle:  # a request's headers are complete
                self._disarm()
            elif self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._arm()  # the first bytes of a next request on a kept-alive connection

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expire(self) -> None:
            self._header_timer = None
            if self.cycle is None or self.cycle.response_complete:
                self.transport.close()

    return HeaderTimeoutProtocol


def build_http_app(settings: Settings, server: MCPServer, auth: HttpAuth) -> Starlette:
    """The ASGI app: /mcp behind bearer auth, and the OAuth routes of the mode."""
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.mcp_max_body_bytes,
        transport_security=transport_security(settings),
    )
    for index, route in enumerate(app.router.routes):  # inside the bearer check: strangers' bodies are not parsed
        if isinstance(route, Route) and route.path == MCP_PATH:
            app.router.routes[index] = Route(MCP_PATH, endpoint=RefuseDuplicateKeys(route.endpoint))
    auth.install(app)
    # /mcp limits its own body; this covers the OAuth routes and the login form too.
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=settings.mcp_max_body_bytes)
    app.add_middleware(BodyTimeout, seconds=settings.mcp_body_timeout_seconds)
    app.add_middleware(RequestLog)
    return app


def serve(settings: Settings, app: Starlette, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(settings.mcp_header_timeout_seconds),
        limit_concurrency=settings.mcp_max_connections,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
        # The access log prints paths with their query strings; the app logs its own requests instead.
        access_log=False,
        log_level=settings.log_level.lower(),
        log_config=None,
    )
    uvicorn.Server(config).run()

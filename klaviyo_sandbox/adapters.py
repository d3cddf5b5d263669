"""The two doors into the sandbox: an httpx transport (in-process) and a WSGI app (sockets).

A dropped connection is ``httpx.RemoteProtocolError``/``httpx.ReadError`` through the
transport. Through WSGI, the sandbox's own server (server.py) closes the socket without a byte
when the environ carries ``klaviyo_sandbox.drop``; any other WSGI server gets a response whose
Content-Length promises more than it sends, which clients see as a broken connection.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import httpx

from klaviyo_sandbox.wire import SandboxRequest, SandboxResponse

Handler = Callable[[SandboxRequest], SandboxResponse]
DROP_KEY = "klaviyo_sandbox.drop"
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class ConnectionDropped(Exception):
    """Raised inside the sandbox's own WSGI server to close the socket without answering."""


class SandboxTransport(httpx.BaseTransport):
    def __init__(self, handle: Handler) -> None:
        self._handle = handle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        req = SandboxRequest(
            method=request.method,
            path=url.path,
            query=parse_qsl(url.query.decode("ascii", "replace"), keep_blank_values=True),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.read(),
            base_url=f"{url.scheme}://{url.netloc.decode('ascii')}",
            trusted=True,
        )
        response = self._handle(req)
        if response.drop == "protocol":
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        if response.drop is not None:
            raise httpx.ReadError("Connection reset by peer", request=request)
        return httpx.Response(response.status, headers=response.headers, content=response.body, request=request)


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def make_wsgi_app(handle: Handler) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        req = SandboxRequest(
            method=environ["REQUEST_METHOD"].upper(),
            path=environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace") or "/",
            query=parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers,
            body=body,
            base_url=f"{environ.get('wsgi.url_scheme', 'http')}://{host}",
            trusted=is_loopback(str(environ.get("REMOTE_ADDR", ""))),
        )
        response = handle(req)
        if response.drop is not None:
            if environ.get(DROP_KEY):
                raise ConnectionDropped
            start_response("200 OK", [("Content-Type", "application/vnd.api+json"), ("Content-Length", "4096")])
            return [b'{"data": ']
        status = f"{response.status} {_REASONS.get(response.status, 'Unknown')}"
        out_headers = list(response.headers)
        if response.status != 204:
            out_headers.append(("Content-Length", str(len(response.body))))
        start_response(status, out_headers)
        return [response.body] if response.body else []

    return app

"""The REST API's gunicorn worker: threads, a deadline on reading each request, JSON errors.

Why not gunicorn's sync worker: it serves one connection at a time, so two clients that send half
a header section held both shipped workers and ``/health`` took 31.9 s; a proposal waiting on
Klaviyo's retries held one just as well. gunicorn's ``gthread`` worker polls idle connections in its
main thread and hands a connection to one of ``threads`` pool threads once its bytes arrive, so a
slow or waiting request holds a thread, never the worker.

Two gaps of ``gthread`` are closed here:

- **A read deadline.** Once a thread starts reading a request it reads with a blocking socket and
  no timeout, so a client that trickles its headers (one byte every few seconds) keeps that thread
  for as long as it likes, and a few such clients take every thread. :class:`DeadlineSocket`
  bounds the whole read of a request — request line, headers and body — to
  :data:`READ_SECONDS` from the moment a thread takes it up; past it the answer is 408.
- **gunicorn's own errors in the API's shape.** A malformed request line (400), a too-long URL
  (414), too many or too large headers (431) or the read deadline (408) were answered by gunicorn
  itself in HTML. :meth:`JsonThreadWorker.handle_error` answers them as
  ``{"error": {"code", "message", "details"}}``, like every other error of the API.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

from api.errors import HTTP_CODES, RequestReadTimeout
from api.gunicorn_hooks import WORKER_BOOT_ERROR, refuse
from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.errors import ConfigError, KlaviyoMCPError
from klaviyo_analytics.rules.untrusted import strip_controls


def _read_seconds() -> float:
    """KLAVIYO_MCP_GUNICORN_READ_SECONDS, read by the server (like the worker count), not the app."""
    try:
        return load_settings().gunicorn_read_seconds
    except ConfigError:  # create_app names the bad setting when the worker boots
        return Settings().gunicorn_read_seconds


# Request line, headers and a body of at most MAX_BODY_BYTES, from a client on any sane link.
READ_SECONDS = _read_seconds()
# Writing an answer to a client that does not read it: bounded too, separately from the read.
SEND_SECONDS = 30.0

# (status, reason) of gunicorn's request errors that are not a plain 400 (gunicorn's own mapping).
_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (RequestReadTimeout, 408, "Request Timeout"),
    (http_errors.LimitRequestLine, 414, "URI Too Long"),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large"),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented"),
    (http_errors.ExpectationFailed, 417, "Expectation Failed"),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden"),
    (http_errors.InvalidResponseHeader, 500, "Internal Server Error"),
    (http_errors.InvalidResponseHeaderName, 500, "Internal Server Error"),
    (http_errors.ConfigurationProblem, 500, "Internal Server Error"),
)
_CODES = {**HTTP_CODES, 408: "REQUEST_TIMEOUT", 414: "URI_TOO_LONG", 431: "HEADERS_TOO_LARGE", 501: "NOT_IMPLEMENTED"}


class DeadlineSocket:
    """A connection's socket whose reads share one deadline (``start`` sets it per request)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline = float("inf")
        self.timed_out = False

    def start(self, seconds: float) -> None:
        self.deadline, self.timed_out = time.monotonic() + seconds, False

    def _read(self, call: Any, *args: Any) -> Any:
        left = self.deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            self._sock.settimeout(left)
            return call(*args)
        except TimeoutError:
            self.timed_out = True
            raise RequestReadTimeout(
                f"the request was not received within {READ_SECONDS:g} s; send it whole, promptly"
            ) from None

    def recv(self, *args: Any) -> bytes:
        return self._read(self._sock.recv, *args)  # type: ignore[no-any-return]

    def recv_into(self, *args: Any) -> int:
        return self._read(self._sock.recv_into, *args)  # type: ignore[no-any-return]

    def send(self, *args: Any) -> int:
        if self._sock.gettimeout() != 0.0:
            self._sock.settimeout(SEND_SECONDS)
        return self._sock.send(*args)

    def sendall(self, *args: Any) -> None:
        if self._sock.gettimeout() != 0.0:
            self._sock.settimeout(SEND_SECONDS)
        self._sock.sendall(*args)

    def __getattr__(self, name: str) -> Any:  # fileno, setblocking, close, shutdown, ...
        return getattr(self._sock, name)


def error_document(status: int, message: str) -> bytes:
    body = json.dumps({"error": {"code": _CODES.get(status, "HTTP_ERROR"), "message": message, "details": {}}})
    return body.encode()


class JsonThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    """gthread with a read deadline per request and JSON error answers (module docstring)."""

    def load_wsgi(self) -> None:
        # The master's preflight normally stops a bad configuration first; one that goes wrong only
        # here (a file changed in between) still ends in one line and the boot-error status, which
        # makes the master exit, instead of a traceback per worker.
        try:
            super().load_wsgi()
        except KlaviyoMCPError as error:
            refuse(error)
            sys.exit(WORKER_BOOT_ERROR)

    def handle(self, conn: Any) -> Any:
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock)
        conn.sock.start(READ_SECONDS)
        return super().handle(conn)

    def _keepalive_after(self, conn: Any, keepalive: bool) -> bool:
        # A request whose read ran out of time leaves its rest on the socket: close, do not drain.
        if isinstance(conn.sock, DeadlineSocket) and conn.sock.timed_out:
            return False
        try:
            return bool(super()._keepalive_after(conn, keepalive))
        except RequestReadTimeout:  # the unread rest of a body the app did not want never came
            return False

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        status, reason = next(((s, r) for kind, s, r in _STATUS if isinstance(exc, kind)), (0, ""))
        if not status and isinstance(exc, http_errors.ParseException):
            status, reason = 400, "Bad Request"
        if not status:
            self.log.exception("Error handling request")
            status, reason, message = 500, "Internal Server Error", "the server failed to answer this request"
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
            message = f"{reason}: {exc}" if str(exc) else reason
        body = error_document(status, strip_controls(message)[:500])  # it may quote the raw request
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            if not isinstance(client, DeadlineSocket):
                client.settimeout(SEND_SECONDS)
            client.sendall(head.encode("latin-1") + body)
        except Exception:  # the client may be gone already; nothing else to do
            self.log.debug("Failed to send error message.")

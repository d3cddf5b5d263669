"""Serve a sandbox over HTTP on loopback: a threaded stdlib WSGI server in a background thread.

``serve(sb)`` is a context manager yielding the base URL (``http://127.0.0.1:<port>``); port 0
picks a free port. Requests are logged to stderr unless ``quiet``. A fault that drops the
connection closes the socket without sending a byte. With ``tls`` (tls.py's self-signed
certificate) it serves HTTPS and its links are ``https`` ones a client can follow.
"""

from __future__ import annotations

import ssl
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from klaviyo_sandbox.adapters import DROP_KEY, ConnectionDropped, is_loopback
from klaviyo_sandbox.tls import SelfSigned

if TYPE_CHECKING:
    from klaviyo_sandbox.app import Sandbox


class _Handler(ServerHandler):
    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], ConnectionDropped):
            self.dropped = True  # leave without writing; the request handler closes the socket
            return
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    quiet = False

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()
        environ[DROP_KEY] = True
        if isinstance(self.connection, ssl.SSLSocket):
            environ["HTTPS"] = "on"  # wsgiref derives wsgi.url_scheme from it
        return environ

    def handle(self) -> None:
        # wsgiref's handle(), with our ServerHandler so that a drop really closes the socket.
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536 or not self.parse_request():
            return
        handler = _Handler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True)  # type: ignore[arg-type]
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]
        if getattr(handler, "dropped", False):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            sys.stderr.write(f"sandbox: {self.address_string()} {format % args}\n")


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the stdlib's 5 resets connections when a client pool opens many at once


def make_server(
    sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = False, tls: SelfSigned | None = None
) -> _Server:
    handler = type("RequestHandler", (_RequestHandler,), {"quiet": quiet})
    server = _Server((host, port), handler)
    server.set_app(sandbox.wsgi_app)
    if tls is not None:
        # The handshake runs in the request's thread, so a client that never finishes one cannot stall accept().
        server.socket = tls.server_context().wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def base_url(server: _Server) -> str:
    host, port = server.server_address[:2]
    name = host.decode() if isinstance(host, bytes) else str(host)
    shown = f"[{name}]" if ":" in name else name
    scheme = "https" if isinstance(server.socket, ssl.SSLSocket) else "http"
    return f"{scheme}://{shown}:{port}"


@contextmanager
def serve(
    sandbox: Sandbox,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_remote: bool = False,
    quiet: bool = True,
    tls: SelfSigned | None = None,
) -> Iterator[str]:
    """Serve ``sandbox`` in a background thread for the ``with`` block; yields the base URL."""
    if not allow_remote and not is_loopback(host) and host != "localhost":
        raise ValueError(f"refusing to serve the sandbox on non-loopback host {host!r} (allow_remote=True to insist)")
    server = make_server(sandbox, host, port, quiet=quiet, tls=tls)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="klaviyo-sandbox", daemon=True)
    thread.start()
    try:
        yield base_url(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

"""Client ID metadata documents served over https on loopback, under a CA made for the test.

The server under test reaches them only through KLAVIYO_MCP_OAUTH_CIMD_TEST_CA_FILE (the test-only
allowance): loopback literals, with a certificate of this CA. Each path answers as its ``Page`` says.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from klaviyo_analytics.clock import SYSTEM_CLOCK
from tests.adapters.mcp_http.oauth_client import REDIRECT_URI


@dataclass
class Page:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (released early when the server stops)


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """(CA file, certificate, key) for 127.0.0.1, made now; valid from a day ago for a day, on any date."""
    # TLS checks a certificate's validity on the machine's clock, the timeline shared_time() reads.
    now = datetime.datetime.fromtimestamp(SYSTEM_CLOCK.shared_time(), datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name("cimd test CA")).issuer_name(_name("cimd test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = directory / "cimd-ca.pem", directory / "cimd-cert.pem", directory / "cimd-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@dataclass
class DocumentServer:
    base: str
    ca_file: Path
    pages: dict[str, Page]
    hits: dict[str, int]

    def url(self, path: str) -> str:
        return self.base + path

    def document(self, path: str, **metadata: Any) -> str:
        """Serve a valid document at ``path`` (fields overridable); its client id."""
        client_id = self.url(path)
        body = {"client_id": client_id, "client_name": "CIMD connector", "redirect_uris": [REDIRECT_URI], **metadata}
        self.pages[path] = Page(json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        return client_id


@contextmanager
def document_server(directory: Path) -> Iterator[DocumentServer]:
    ca_file, cert, key = make_tls(directory)
    pages: dict[str, Page] = {}
    hits: dict[str, int] = {}
    stopping = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits[self.path] = hits.get(self.path, 0) + 1
            page = pages.get(self.path, Page(b"not found", 404))
            if page.delay:
                stopping.wait(page.delay)
            self.send_response(page.status)
            for name, value in {"Content-Length": str(len(page.body)), **page.headers}.items():
                self.send_header(name, value)
            self.end_headers()
            with suppress(OSError):  # the fetcher gave up (size or time limit) and closed
                self.wfile.write(page.body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield DocumentServer(f"https://127.0.0.1:{httpd.server_address[1]}", ca_file, pages, hits)
    finally:
        stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)

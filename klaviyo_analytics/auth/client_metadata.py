"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP authorization 2025-11-25).

A client may present an ``https`` URL as its ``client_id`` instead of registering (RFC 7591): the URL
serves a JSON document of its metadata, which this module fetches, checks and caches. The fetch makes
this server call an address a stranger chose, so it is narrow:

- the URL passes the webhook endpoint rules (``rules.outbound_url``: https only, no credentials, no
  private, loopback or local name), and the draft's own (a path other than ``/``, no dot segments, no
  fragment, written in the form a browser would send: the draft compares client ids as plain strings);
- the host is resolved here and every address it resolves to must be public; the connection goes to
  the address that was checked (``sni_hostname`` keeps TLS verifying the name), so DNS rebinding
  cannot swap in a private one between the check and the connection;
- no redirect is followed, only a 200 is read, undecoded (``Accept-Encoding: identity``), at most
  :data:`MAX_DOCUMENT_BYTES`; one deadline (:data:`FETCH_TIMEOUT_SECONDS`) covers DNS, connect, TLS and
  body; at most :data:`MAX_PARALLEL_FETCHES` fetches run at once per process;
- the document's ``client_id`` must equal the URL exactly, its ``redirect_uris`` pass the rules of a
  registration (https, or http on loopback; bounded fields), and it must be a public client
  (``token_endpoint_auth_method`` ``none``, no secret): nothing here can check a secret it names.

A good document is cached in this process for its ``Cache-Control: max-age``, clamped to
[:data:`MIN_CACHE_SECONDS`, :data:`MAX_CACHE_SECONDS`] (:data:`DEFAULT_CACHE_SECONDS` without one), at
most :data:`MAX_CACHED` documents. Each instance behind a load balancer fetches for itself.

Tests only: ``KLAVIYO_MCP_OAUTH_CIMD_TEST_CA_FILE`` lets a document be served on a *loopback address
literal* over https with a certificate of that CA (the end-to-end test serves one). Nothing a request
carries can turn it on; unset, loopback is refused like any private address.

Failures are ``InvalidArgumentError`` naming ``client_id``, with ``details["reason"]`` saying which rule
(the authorization endpoint answers them as OAuth ``invalid_client``, or ``temporarily_unavailable`` for
the reasons in :data:`TRANSIENT`).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import ssl
from collections import OrderedDict
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import ValidationError

from klaviyo_analytics.auth.registration import check_metadata, check_redirect_uri
from klaviyo_analytics.clock import SYSTEM_CLOCK, Clock
from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.logs import get_logger
from klaviyo_analytics.rules.outbound_url import IPAddress, check_endpoint_url, ip_rule

log = get_logger("klaviyo_analytics.auth")
MAX_DOCUMENT_BYTES = 5 * 1024  # the draft's suggested bound; a real document is a few hundred bytes
FETCH_TIMEOUT_SECONDS = 5.0
MAX_PARALLEL_FETCHES = 4
MIN_CACHE_SECONDS = 60.0  # a sign-in's authorize, login page and token exchange reuse one fetch
MAX_CACHE_SECONDS = 24 * 3600.0  # a changed or withdrawn document takes effect within a day
DEFAULT_CACHE_SECONDS = 3600.0
MAX_CACHED = 256
TRANSIENT = frozenset({"timeout", "unreachable", "server_error", "unresolvable"})
LOOPBACK_LITERALS = {"127.0.0.1", "::1"}
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


def is_url_client_id(client_id: str | None) -> bool:
    """Does ``client_id`` name a metadata document (a URL) rather than a registration (a random id)?"""
    return bool(client_id) and "://" in str(client_id)


def _refuse(reason: str, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"client_id {why}.", field="client_id", rule="client_id_metadata_document", reason=reason
    )


def cache_seconds(cache_control: str | None) -> float:
    """How long a document may be reused: its max-age within the bounds (no-store/no-cache: the minimum)."""
    if not cache_control:
        return DEFAULT_CACHE_SECONDS
    if re.search(r"no-store|no-cache", cache_control, re.IGNORECASE):
        return MIN_CACHE_SECONDS
    found = _MAX_AGE.search(cache_control)
    seconds = float(found.group(1)) if found else DEFAULT_CACHE_SECONDS
    return min(max(seconds, MIN_CACHE_SECONDS), MAX_CACHE_SECONDS)


def _getaddrinfo(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class ClientMetadataResolver:
    """Fetches, checks and caches client id metadata documents (see the module docstring)."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK, loopback_ca: Path | None = None) -> None:
        self.clock = clock
        self.loopback_ca = loopback_ca
        self.resolve_host = _getaddrinfo  # the DNS seam: tests name what a host resolves to
        self._cache: OrderedDict[str, tuple[float, OAuthClientInformationFull]] = OrderedDict()
        self._limiter: anyio.CapacityLimiter | None = None

    def cached(self, client_id: str) -> OAuthClientInformationFull | None:
        entry = self._cache.get(client_id)
        if entry is None or entry[0] <= self.clock.monotonic():
            return None
        return entry[1].model_copy(deep=True)

    async def resolve(self, client_id: str) -> OAuthClientInformationFull:
        """The client the document at ``client_id`` describes, from the cache or fetched now."""
        found = self.cached(client_id)
        if found is not None:
            return found
        url, host, port, loopback = self._check_url(client_id)
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(MAX_PARALLEL_FETCHES)
        async with self._limiter:
            try:
                with anyio.fail_after(FETCH_TIMEOUT_SECONDS):
                    address = await self._public_address(host, port)
                    body, cache_control = await self._fetch(url, host, port, address, loopback)
            except TimeoutError:
                raise _refuse(
                    "timeout", f"metadata document did not arrive within {FETCH_TIMEOUT_SECONDS:g} s"
                ) from None
        client = self._check_document(client_id, body)
        self._cache[client_id] = (self.clock.monotonic() + cache_seconds(cache_control), client)
        self._cache.move_to_end(client_id)
        while len(self._cache) > MAX_CACHED:
            self._cache.popitem(last=False)
        log.info("oauth.client_metadata_fetched", client_id=client_id, client_name=client.client_name)
        return client.model_copy(deep=True)

    def _check_url(self, client_id: str) -> tuple[str, str, int, bool]:
        parts = urlsplit(client_id)
        loopback = self.loopback_ca is not None and parts.scheme == "https" and parts.hostname in LOOPBACK_LITERALS
        if not loopback and check_endpoint_url(client_id, field="client_id") != client_id:
            raise _refuse("not_normalized", "must be written as a browser would send it (lower-case ASCII host)")
        if parts.path in ("", "/"):
            raise _refuse("path_required", "must have a path (the document's own, not just /)")
        if any(segment in (".", "..") for segment in parts.path.split("/")):
            raise _refuse("dot_segment", "must not contain . or .. path segments")
        if parts.fragment or client_id.endswith("#"):
            raise _refuse("fragment", "must not have a fragment")
        return client_id, str(parts.hostname), parts.port or 443, loopback

    async def _public_address(self, host: str, port: int) -> str:
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            return str(literal)  # checked by the URL rules already (or the test allowance's loopback)
        try:
            found = await anyio.to_thread.run_sync(partial(self.resolve_host, host, port), abandon_on_cancel=True)
        except OSError as exc:
            raise _refuse("unresolvable", f"host {host!r} does not resolve ({exc.strerror or exc})") from None
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        if not addresses:
            raise _refuse("unresolvable", f"host {host!r} does not resolve")
        for address in addresses:
            rule = ip_rule(address)
            if rule is not None:
                raise _refuse(rule[0], f"host {host!r} resolves to {rule[1]}, which is not a public address")
        return str(addresses[0])

    def _tls(self, loopback: bool) -> ssl.SSLContext:
        if loopback and self.loopback_ca is not None:
            return ssl.create_default_context(cafile=str(self.loopback_ca))
        import certifi

        return ssl.create_default_context(cafile=certifi.where())

    async def _fetch(self, url: str, host: str, port: int, address: str, loopback: bool) -> tuple[bytes, str | None]:
        parts = urlsplit(url)
        literal = f"[{address}]" if ":" in address else address
        target = urlunsplit(("https", f"{literal}:{port}", parts.path, parts.query, ""))
        headers = {"Host": parts.netloc, "Accept": "application/json", "Accept-Encoding": "identity"}
        try:
            async with (
                httpx.AsyncClient(verify=self._tls(loopback), follow_redirects=False, trust_env=False) as http,
                http.stream("GET", target, headers=headers, extensions={"sni_hostname": host}) as response,
            ):
                if response.is_redirect:
                    raise _refuse(
                        "redirect", f"metadata document answered {response.status_code}: redirects are not followed"
                    )
                if response.status_code >= 500:
                    raise _refuse("server_error", f"metadata document answered {response.status_code}")
                if response.status_code != 200:
                    raise _refuse("status", f"metadata document answered {response.status_code}, not 200")
                if response.headers.get("content-encoding", "identity").lower() != "identity":
                    raise _refuse("encoded", "metadata document must be sent without Content-Encoding")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
                    raise self._too_large()
                body = b""
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise self._too_large()
                return body, response.headers.get("cache-control")
        except httpx.TransportError as exc:
            raise _refuse("unreachable", f"metadata document could not be fetched ({type(exc).__name__})") from None

    @staticmethod
    def _too_large() -> InvalidArgumentError:
        return _refuse("too_large", f"metadata document is larger than {MAX_DOCUMENT_BYTES} bytes")

    def _check_document(self, client_id: str, body: bytes) -> OAuthClientInformationFull:
        try:
            document: Any = json.loads(body)
        except ValueError:
            raise _refuse("not_json", "metadata document is not JSON") from None
        if not isinstance(document, dict):
            raise _refuse("not_json", "metadata document is not a JSON object")
        if document.get("client_id") != client_id:
            raise _refuse(
                "client_id_mismatch",
                f"metadata document names client_id {str(document.get('client_id'))[:200]!r}, not its own URL",
            )
        if "client_secret" in document or "client_secret_expires_at" in document:
            raise _refuse("secret", "metadata document must not carry a client_secret")
        method = document["token_endpoint_auth_method"] = document.get("token_endpoint_auth_method") or "none"
        if method != "none":
            raise _refuse(
                "auth_method", f"metadata document's token_endpoint_auth_method is {str(method)[:50]!r}; only 'none'"
            )
        if not isinstance(document.get("redirect_uris"), list) or not document["redirect_uris"]:
            raise _refuse("redirect_uris", "metadata document must list redirect_uris")
        document.pop("client_id_issued_at", None)
        try:
            client = OAuthClientInformationFull.model_validate(document)
            check_metadata(client)
            for uri in client.redirect_uris or []:
                check_redirect_uri(str(uri))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise _refuse("invalid_metadata", f"metadata document field {where}: {first['msg']}") from None
        except RegistrationError as exc:
            raise _refuse("invalid_metadata", f"metadata document: {exc.error_description}") from None
        return client

"""The two OAuth endpoints whose SDK handlers need a wrapper: /register (bounded) and /revoke (RFC 7009).

/register (RFC 7591) is open by design — Claude's connector registers itself — so it is bounded here:

- per client address, ``KLAVIYO_MCP_REGISTRATION_RATE_LIMIT`` on the `limits` package's moving window
  in ``KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE`` (the store the login page counts in, so instances share the count
  with redis://), checked before anything else so guessing the token below is throttled too;
- an optional initial access token (RFC 7591 §3, ``KLAVIYO_MCP_REGISTRATION_TOKEN``): when set, a
  registration must carry it as ``Authorization: Bearer …`` (compared in constant time);
- a body of at most :data:`MAX_REGISTRATION_BYTES` (413), then every metadata field bounded by
  :func:`check_metadata` (called by the provider): at most :data:`MAX_REDIRECT_URIS` redirect URIs,
  :data:`MAX_NAME_CHARS` for the client name, :data:`MAX_TEXT_CHARS` for any other text or URI,
  :data:`MAX_LIST_ITEMS` for any other list;
- registrations that never complete an authorization are deleted after
  ``KLAVIYO_MCP_REGISTRATION_UNUSED_HOURS`` (the provider, at each registration).

/revoke: the SDK's ``RevocationRequest`` declares ``client_secret: str | None`` with no default, so
pydantic makes the field required and a public client's RFC 7009 request (``token`` and
``client_id`` only) got 400 ``client_secret: Field required``. :class:`PublicRevocationHandler` is
the SDK's handler with that one field defaulted (and ``invalid_client`` for an unknown client, as
RFC 7009 §2.2.1 / RFC 6749 §5.2 name it, where the SDK says ``unauthorized_client``).
"""

from __future__ import annotations

import hmac
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from mcp.server.auth.errors import stringify_pydantic_error
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.revoke import RevocationHandler, RevocationRequest
from mcp.server.auth.middleware.client_auth import AuthenticationError
from mcp.server.auth.provider import AccessToken, RefreshToken, RegistrationError
from mcp.server.transport_security import RequestBodyLimitMiddleware
from mcp.shared.auth import OAuthClientInformationFull
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from pydantic import ValidationError
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp

from klaviyo_analytics.logs import get_logger

log = get_logger("klaviyo_analytics.auth")
MAX_REGISTRATION_BYTES = 64 * 1024
MAX_REDIRECT_URIS = 10
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 2048
MAX_LIST_ITEMS = 10
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def check_metadata(client: OAuthClientInformationFull) -> None:
    """RegistrationError naming the first field past its bound (RFC 7591 §3.2.2 invalid_client_metadata)."""
    if len(client.redirect_uris or []) > MAX_REDIRECT_URIS:
        raise RegistrationError("invalid_redirect_uri", f"at most {MAX_REDIRECT_URIS} redirect_uris may be registered")
    metadata = client.model_dump(mode="json", exclude={"client_id", "client_secret"}, exclude_none=True)
    for name, value in metadata.items():
        limit = MAX_NAME_CHARS if name == "client_name" else MAX_TEXT_CHARS
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and name != "redirect_uris" and len(value) > MAX_LIST_ITEMS:
            raise RegistrationError("invalid_client_metadata", f"{name} may list at most {MAX_LIST_ITEMS} values")
        if isinstance(value, dict):  # e.g. an inline jwks: no client here needs one
            raise RegistrationError("invalid_client_metadata", f"{name} is not accepted by this server")
        for item in items:
            if isinstance(item, str) and len(item) > limit:
                raise RegistrationError("invalid_client_metadata", f"{name} may be at most {limit} characters")


def check_redirect_uri(uri: str) -> None:
    """RegistrationError unless ``uri`` is https, or http on loopback, with no userinfo or fragment."""
    parts = urlsplit(uri)
    if parts.fragment:
        raise RegistrationError("invalid_redirect_uri", "a redirect_uri must not have a fragment")
    if "@" in parts.netloc:  # https://claude.ai@evil.example/ reads as claude.ai but goes to evil.example
        raise RegistrationError("invalid_redirect_uri", "a redirect_uri must not carry userinfo (user@host)")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return  # native clients (RFC 8252 §7.3)
    raise RegistrationError("invalid_redirect_uri", "a redirect_uri must be https, or http on a loopback address")


def _cors(app: ASGIApp) -> ASGIApp:
    # As the SDK's routes: browser-based clients (MCP Inspector) call these endpoints cross-origin.
    return CORSMiddleware(
        app=app, allow_origins="*", allow_methods=["POST", "OPTIONS"], allow_headers=[MCP_PROTOCOL_VERSION_HEADER]
    )


def _error(status: int, error: str, description: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status, headers={**NO_STORE, **headers})


class RegistrationGate:
    """The SDK's registration handler behind a per-address limit and the optional initial access token."""

    def __init__(self, handler: RegistrationHandler, rate_limit: str, storage_uri: str, token: str | None) -> None:
        self.handler, self.token = handler, token
        self.limit = parse(rate_limit)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    async def handle(self, request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        if not self.limiter.hit(self.limit, "oauth-register-addr", address):
            log.warning("oauth.register_rate_limited", address=address)
            return _error(
                429, "temporarily_unavailable", f"too many registrations from this address ({self.limit})",
                **{"Retry-After": "60"},
            )  # fmt: skip
        if self.token is not None:
            presented = request.headers.get("authorization", "")
            scheme, _, value = presented.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), self.token.encode()):
                log.warning("oauth.register_refused", address=address)
                return _error(
                    401, "invalid_token", "registration needs this server's initial access token as a Bearer token",
                    **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )  # fmt: skip
        return await self.handler.handle(request)

    def route(self, path: str) -> Route:
        endpoint = RequestBodyLimitMiddleware(request_response(self.handle), MAX_REGISTRATION_BYTES)
        return Route(path, endpoint=_cors(endpoint), methods=["POST", "OPTIONS"])


class PublicRevocation(RevocationRequest):
    client_secret: str | None = None  # RFC 7009 §2.1: a public client sends its client_id alone


class PublicRevocationHandler(RevocationHandler):
    """The SDK's revocation handler, accepting a public client's ``client_id``-only request."""

    async def handle(self, request: Request) -> Response:
        try:
            client = await self.client_authenticator.authenticate_request(request)
        except AuthenticationError as exc:
            return _error(401, "invalid_client", exc.message)
        try:
            revocation = PublicRevocation.model_validate(dict(await request.form()))
        except ValidationError as exc:
            return _error(400, "invalid_request", stringify_pydantic_error(exc))
        loaders: list[Any] = [self.provider.load_access_token, partial(self.provider.load_refresh_token, client)]
        if revocation.token_type_hint == "refresh_token":  # noqa: S105 - a hint's name, not a secret
            loaders.reverse()
        token: AccessToken | RefreshToken | None = None
        for loader in loaders:
            token = await loader(revocation.token)
            if token is not None:
                break
        if token is not None and token.client_id == client.client_id:
            await self.provider.revoke_token(token)
        return Response(status_code=200, headers=NO_STORE)  # also for an unknown token (RFC 7009 §2.2)

    def route(self, path: str) -> Route:
        endpoint = RequestBodyLimitMiddleware(request_response(self.handle), MAX_REGISTRATION_BYTES)
        return Route(path, endpoint=_cors(endpoint), methods=["POST", "OPTIONS"])

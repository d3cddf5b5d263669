"""/authorize and the authorization server metadata: the SDK's, plus metadata-document clients and RFC 9207.

- A ``client_id`` that is a URL is a Client ID Metadata Document (``auth.client_metadata``). Before the
  SDK's handler runs, the document is fetched (or taken from the cache) so a bad one gets its own
  answer: 400 ``invalid_client`` (``temporarily_unavailable`` when the fetch failed on the way) whose
  description names the rule, never a redirect (the redirect URIs are the document's and it was not
  accepted). Fetches that miss the cache count against ``KLAVIYO_MCP_REGISTRATION_RATE_LIMIT`` per
  client address: a URL client id is a registration made on the fly.
- RFC 9207: every authorization response carries ``iss``. The login page adds it to codes and denials
  (``provider.finish_login``); the SDK's own error redirects (invalid_scope, invalid_target) get it here.
- The metadata advertises ``client_id_metadata_document_supported`` and
  ``authorization_response_iss_parameter_supported``, and ``none`` among the token endpoint's methods
  (public clients: metadata-document clients and DCR clients that ask for it).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.routes import AUTHORIZATION_PATH, cors_middleware
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, RequestBodyLimitMiddleware
from mcp.shared.auth import OAuthMetadata
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response

from klaviyo_analytics.auth.client_metadata import TRANSIENT, ClientMetadataResolver, is_url_client_id
from klaviyo_analytics.auth.provider import LOGIN_PATH, EmbeddedProvider
from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.logs import get_logger

log = get_logger("klaviyo_analytics.auth")
METADATA_PATH = "/.well-known/oauth-authorization-server"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def with_iss(location: str, issuer: str) -> str:
    """``location`` with ``iss`` added to its query unless it carries one."""
    parts = urlsplit(location)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "iss" for name, _ in query):
        return location
    return urlunsplit(parts._replace(query=urlencode([*query, ("iss", issuer)])))


class MetadataDocumentAuthorize:
    """The SDK's authorization handler, with URL client ids resolved first and ``iss`` on its redirects."""

    def __init__(
        self, provider: EmbeddedProvider, resolver: ClientMetadataResolver, rate_limit: str, storage_uri: str
    ) -> None:
        self.provider, self.resolver = provider, resolver
        self.handler = AuthorizationHandler(provider)
        self.limit = parse(rate_limit)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    async def handle(self, request: Request) -> Response:
        params = request.query_params if request.method == "GET" else await request.form()
        client_id = params.get("client_id")
        if isinstance(client_id, str) and is_url_client_id(client_id):
            refused = await self._resolve(request, client_id)
            if refused is not None:
                return refused
        response = await self.handler.handle(request)
        location = response.headers.get("location")
        if location and not location.startswith(self.provider.issuer + LOGIN_PATH):
            response.headers["location"] = with_iss(location, self.provider.issuer)
        return response

    async def _resolve(self, request: Request, client_id: str) -> Response | None:
        if self.resolver.cached(client_id) is None:
            address = request.client.host if request.client else "unknown"
            if not self.limiter.hit(self.limit, "oauth-register-addr", address):
                log.warning("oauth.client_metadata_rate_limited", address=address)
                why = f"too many new client ids from this address ({self.limit})"
                return _error(429, "temporarily_unavailable", why, **{"Retry-After": "60"})
        try:
            await self.resolver.resolve(client_id)
        except InvalidArgumentError as exc:
            reason = str(exc.details.get("reason", ""))
            log.info("oauth.client_metadata_refused", client_id=client_id[:300], reason=reason)
            error = "temporarily_unavailable" if reason in TRANSIENT else "invalid_client"
            return _error(400, error, exc.message)
        return None

    def route(self) -> Route:
        # The SDK's own bound on this endpoint's body, as its route has; no CORS (browsers navigate here).
        endpoint = RequestBodyLimitMiddleware(request_response(self.handle), DEFAULT_MAX_REQUEST_BODY_SIZE)
        return Route(AUTHORIZATION_PATH, endpoint=endpoint, methods=["GET", "POST"])


def _error(status: int, error: str, description: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status, headers={**NO_STORE, **headers})


def advertised(metadata: OAuthMetadata) -> OAuthMetadata:
    methods = list(metadata.token_endpoint_auth_methods_supported or [])
    return metadata.model_copy(
        update={
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
            "token_endpoint_auth_methods_supported": [*methods, *(["none"] if "none" not in methods else [])],
        }
    )


def replace_routes(routes: list[Route], authorize: MetadataDocumentAuthorize, metadata: OAuthMetadata) -> list[Route]:
    """The SDK's auth routes with /authorize and the metadata document swapped for the ones above."""
    metadata_route = Route(
        METADATA_PATH,
        endpoint=cors_middleware(MetadataHandler(advertised(metadata)).handle, ["GET", "OPTIONS"]),
        methods=["GET", "OPTIONS"],
    )
    swapped: dict[str, Route] = {AUTHORIZATION_PATH: authorize.route(), METADATA_PATH: metadata_route}
    return [swapped.get(r.path, r) for r in routes]

"""Auth for the MCP HTTP server, by KLAVIYO_MCP_OAUTH_MODE: which tokens /mcp accepts and which OAuth routes exist.

- ``off``: static bearer tokens only (KLAVIYO_MCP_REST_API_KEY, KLAVIYO_MCP_REST_API_TOKENS, users-file tokens).
- ``embedded``: also this server's own OAuth 2.1 authorization server (the SDK's routes: /token;
  /authorize and the metadata through ``auth.authorize``, which adds Client ID Metadata Documents and
  RFC 9207 ``iss``; /register (the older path) and /revoke through ``registration``; plus the login
  page), issuer = the public URL.
- ``external``: also JWTs of an identity provider (KLAVIYO_MCP_OAUTH_ISSUER_URL, KLAVIYO_MCP_OAUTH_JWKS_URL).

Every mode publishes RFC 9728 metadata at /.well-known/oauth-protected-resource/mcp and answers a
missing or refused token with 401 and ``WWW-Authenticate: Bearer …, resource_metadata="…"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.middleware.client_auth import ClientAuthenticator
from mcp.server.auth.routes import (
    REGISTRATION_PATH,
    REVOCATION_PATH,
    build_metadata,
    build_resource_metadata_url,
    create_auth_routes,
    create_protected_resource_routes,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import BaseRoute, Route

from klaviyo_analytics.adapters.mcp_http import MCP_PATH, public_url, resource_url
from klaviyo_analytics.auth.keys import load_signing_key
from klaviyo_analytics.auth.oauth_store import open_oauth_store
from klaviyo_analytics.auth.tokens import BearerVerifier, EmbeddedTokens, ExternalTokens, JwtVerifier
from klaviyo_analytics.auth.users import UserDirectory
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError


def exact_url(url: str) -> AnyHttpUrl:
    """``url`` as pydantic's URL type without an added trailing slash: RFC 8414 compares issuers as strings."""
    return AuthSettings(issuer_url=url, resource_server_url=None).issuer_url


@dataclass
class HttpAuth:
    verifier: BearerVerifier
    resource: str
    authorization_server: str
    routes: list[BaseRoute] = field(default_factory=list)

    def install(self, app: Starlette) -> None:
        """Put /mcp behind the bearer check and add the metadata and OAuth routes."""
        metadata_url = build_resource_metadata_url(exact_url(self.resource))
        for index, route in enumerate(app.router.routes):
            if isinstance(route, Route) and route.path == MCP_PATH:
                app.router.routes[index] = Route(
                    MCP_PATH, endpoint=RequireAuthMiddleware(route.endpoint, [], metadata_url)
                )
        app.router.routes.extend(
            create_protected_resource_routes(
                resource_url=exact_url(self.resource),
                authorization_servers=[exact_url(self.authorization_server)],
                resource_name="klaviyo-mcp",
            )
        )
        app.router.routes.extend(self.routes)
        # Added innermost first: authentication must run before the context middleware reads its result.
        app.add_middleware(AuthContextMiddleware)
        app.add_middleware(
            AuthenticationMiddleware,
            backend=BearerAuthBackend(self.verifier, resource_server_url=exact_url(self.resource)),
        )


def build_auth(settings: Settings, directory: UserDirectory) -> HttpAuth:
    resource = resource_url(settings)
    if settings.oauth_mode == "external":
        if not (settings.oauth_issuer_url and settings.oauth_jwks_url):
            raise ConfigError(
                "KLAVIYO_MCP_OAUTH_MODE=external needs KLAVIYO_MCP_OAUTH_ISSUER_URL and KLAVIYO_MCP_OAUTH_JWKS_URL",
                variable="KLAVIYO_MCP_OAUTH_MODE",
            )
        external: JwtVerifier = ExternalTokens(
            settings.oauth_jwks_url,
            settings.oauth_issuer_url,
            settings.oauth_audience or resource,
            settings.oauth_user_claim,
            directory,
            resource,
        )
        return HttpAuth(BearerVerifier(directory, resource, external), resource, settings.oauth_issuer_url)
    issuer = settings.oauth_issuer_url or public_url(settings)
    if settings.oauth_mode == "off":
        return HttpAuth(BearerVerifier(directory, resource, None), resource, issuer)
    from klaviyo_analytics.auth.authorize import MetadataDocumentAuthorize, replace_routes
    from klaviyo_analytics.auth.client_metadata import ClientMetadataResolver
    from klaviyo_analytics.auth.login import LoginPages
    from klaviyo_analytics.auth.provider import EmbeddedProvider
    from klaviyo_analytics.auth.registration import PublicRevocationHandler, RegistrationGate

    store = open_oauth_store(settings)
    key = load_signing_key(settings)
    tokens = EmbeddedTokens(key, store, directory, issuer, resource, settings.oauth_access_token_seconds)
    provider = EmbeddedProvider(
        store,
        key,
        tokens,
        settings.oauth_refresh_token_days,
        settings.registration_unused_hours,
        settings.refresh_reuse_grace_seconds,
        ClientMetadataResolver(EmbeddedProvider.clock, settings.oauth_cimd_test_ca_file),
    )
    registration = ClientRegistrationOptions(enabled=True)
    try:
        oauth_routes = create_auth_routes(
            provider=provider,
            issuer_url=exact_url(issuer),
            client_registration_options=registration,
            revocation_options=RevocationOptions(enabled=True),
        )
    except ValueError as exc:  # the SDK refuses a non-https, non-loopback issuer
        raise ConfigError(
            f"KLAVIYO_MCP_OAUTH_ISSUER_URL / KLAVIYO_MCP_HTTP_PUBLIC_URL: {exc}", variable="KLAVIYO_MCP_HTTP_PUBLIC_URL"
        ) from None
    gate = RegistrationGate(
        RegistrationHandler(provider, registration),
        settings.registration_rate_limit,
        settings.rest_rate_limit_storage,
        settings.registration_token,
    )
    revoke = PublicRevocationHandler(provider, ClientAuthenticator(provider))
    replaced = {REGISTRATION_PATH: gate.route(REGISTRATION_PATH), REVOCATION_PATH: revoke.route(REVOCATION_PATH)}
    oauth_routes = [replaced.get(r.path, r) if isinstance(r, Route) else r for r in oauth_routes]
    authorize = MetadataDocumentAuthorize(
        provider, provider.resolver, settings.registration_rate_limit, settings.rest_rate_limit_storage
    )
    metadata = build_metadata(exact_url(issuer), None, registration, RevocationOptions(enabled=True))
    oauth_routes = replace_routes(oauth_routes, authorize, metadata)
    login = LoginPages(provider, directory, settings.oauth_login_rate_limit, settings.rest_rate_limit_storage)
    return HttpAuth(BearerVerifier(directory, resource, tokens), resource, issuer, [*oauth_routes, *login.routes()])

"""The embedded authorization server, as the SDK's ``OAuthAuthorizationServerProvider``.

The SDK's handlers (mcp.server.auth) parse and validate /authorize, /token, /register and /revoke —
PKCE S256 is the only method they accept, codes are checked against the verifier, redirect URIs
against the registration. This provider adds the policy: redirect URIs must be https or loopback
http with no userinfo (no open redirects, nothing to dress up the host the consent page shows), the
registration's fields are bounded (``registration.check_metadata``) and a registration that never
completes an authorization is deleted after ``unused_client_hours``, the ``resource`` must be this
server's /mcp URL (RFC 8707), a ``client_id`` that is an https URL names a Client ID Metadata Document
(``client_metadata``) instead of a registration, a login page stands between /authorize and the code, codes are single
use and expire (CODE_TTL_SECONDS, checked again when exchanged), refresh tokens rotate, and revoking
either token revokes the grant behind both.

Refresh reuse: a rotated refresh token presented again more than ``refresh_race_seconds``
(KLAVIYO_MCP_REFRESH_REUSE_GRACE_SECONDS) after it was
used is a replay (someone holds a copy), so the grant ends. Within that window it is a client racing
itself (two tabs, a retry): the late request gets ``invalid_grant`` and the grant, with the winner's
new pair, stays valid. A thief's replay inside the window gains nothing and the legitimate client's
next use of the old token, after it, still ends the grant.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    IdentityAssertionParams,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from klaviyo_analytics.auth.client_metadata import ClientMetadataResolver, is_url_client_id
from klaviyo_analytics.auth.keys import SigningKey
from klaviyo_analytics.auth.oauth_store import Grant, OAuthStore, new_secret
from klaviyo_analytics.auth.registration import check_metadata, check_redirect_uri
from klaviyo_analytics.auth.tokens import CallerToken, EmbeddedTokens
from klaviyo_analytics.clock import SYSTEM_CLOCK, Clock
from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.logs import get_logger

log = get_logger("klaviyo_analytics.auth")
LOGIN_PATH = "/oauth/login"
LOGIN_TTL_SECONDS = 600
CODE_TTL_SECONDS = 120
# Long enough for two requests of one client racing over a slow link; short enough that a replay is one.
REFRESH_RACE_SECONDS = 5.0


class GrantRefreshToken(RefreshToken):
    grant_id: str


def _same_resource(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class EmbeddedProvider:
    # Expiries are shared with other processes (and PyJWT checks them on the real clock): shared time.
    clock: Clock = SYSTEM_CLOCK

    def __init__(
        self,
        store: OAuthStore,
        key: SigningKey,
        tokens: EmbeddedTokens,
        refresh_days: float,
        unused_client_hours: float = 24.0,
        refresh_race_seconds: float = REFRESH_RACE_SECONDS,
        resolver: ClientMetadataResolver | None = None,
    ) -> None:
        self.store, self.key, self.tokens = store, key, tokens
        self.resolver = resolver or ClientMetadataResolver()
        self.refresh_seconds = refresh_days * 86400
        self.unused_client_seconds = unused_client_hours * 3600
        self.refresh_race_seconds = refresh_race_seconds

    @property
    def issuer(self) -> str:
        return self.tokens.issuer

    # Registration (RFC 7591): no manual client set-up for Claude's connector.
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if is_url_client_id(client_id):  # a metadata document, not a registration (auth.client_metadata)
            try:
                return await self.resolver.resolve(client_id)
            except InvalidArgumentError as exc:
                log.info("oauth.client_metadata_refused", client_id=client_id[:300], reason=exc.details.get("reason"))
                return None
        metadata = self.store.get_client(client_id)
        if metadata is None:
            return None
        client = OAuthClientInformationFull.model_validate(metadata)
        if client.token_endpoint_auth_method != "none":  # noqa: S105 - an auth method's name, not a secret
            client.client_secret = self.key.client_secret(client_id)
        return client

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        check_metadata(client_info)
        for uri in client_info.redirect_uris or []:
            check_redirect_uri(str(uri))
        purged = self.store.purge_unused_clients(self.clock.shared_time() - self.unused_client_seconds)
        if purged:
            log.info("oauth.unused_clients_deleted", count=purged)
        if client_info.client_secret is not None:
            # The SDK answers with this object: the client gets the derived secret, the file none.
            client_info.client_secret = self.key.client_secret(client_info.client_id)
        self.store.put_client(client_info.client_id, client_info.model_dump(mode="json", exclude={"client_secret"}))
        log.info("oauth.client_registered", client_id=client_info.client_id, client_name=client_info.client_name)

    # Authorization: park the request, send the browser to the login page.
    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and not _same_resource(params.resource, self.tokens.resource):
            raise AuthorizeError("invalid_target", f"resource must be {self.tokens.resource}")
        login_id = self.store.put_pending(client.client_id, params.model_dump(mode="json"), LOGIN_TTL_SECONDS)
        return f"{self.issuer}{LOGIN_PATH}?{urlencode({'id': login_id})}"

    async def pending(self, login_id: str) -> tuple[OAuthClientInformationFull, AuthorizationParams] | None:
        found = self.store.get_pending(login_id)
        if found is None:
            return None
        client = await self.get_client(found[0])
        if client is None:
            return None
        return client, AuthorizationParams.model_validate(found[1])

    def finish_login(self, login_id: str, user: str | None) -> str | None:
        """The redirect back to the client: a code for ``user``, or access_denied when ``user`` is None."""
        found = self.store.take_pending(login_id)
        if found is None:
            return None
        client_id, raw = found
        params = AuthorizationParams.model_validate(raw)
        if user is None:
            return construct_redirect_uri(
                str(params.redirect_uri), error="access_denied", state=params.state, iss=self.issuer
            )
        code = new_secret()
        data = {**raw, "subject": user, "client_id": client_id, "scopes": params.scopes or []}
        self.store.put_code(code, client_id, data, self.clock.shared_time() + CODE_TTL_SECONDS)
        log.info("oauth.login_granted", user=user, client_id=client_id)
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state, iss=self.issuer)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        found = self.store.get_code(authorization_code)
        if found is None or found[0]["client_id"] != client.client_id:
            return None
        data, expires_at = found
        return AuthorizationCode(
            code=authorization_code,
            scopes=data["scopes"],
            expires_at=expires_at,  # the SDK refuses it past this; take_code checks again at the exchange
            client_id=data["client_id"],
            code_challenge=data["code_challenge"],
            redirect_uri=data["redirect_uri"],
            redirect_uri_provided_explicitly=data["redirect_uri_provided_explicitly"],
            resource=data.get("resource"),
            subject=data["subject"],
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        if not self.store.take_code(authorization_code.code):
            raise TokenError("invalid_grant", "authorization code does not exist")
        grant = Grant(
            grant_id=uuid.uuid4().hex,
            client_id=client.client_id,
            subject=authorization_code.subject or "",
            scopes=authorization_code.scopes,
            resource=self.tokens.resource,
            expires_at=self.clock.shared_time() + self.refresh_seconds,
        )
        self.store.put_grant(grant)
        return self._issue(grant, grant.scopes)

    def _issue(self, grant: Grant, scopes: list[str]) -> OAuthToken:
        access = self.tokens.issue(
            subject=grant.subject, client_id=grant.client_id, scopes=scopes, grant_id=grant.grant_id
        )
        refresh = new_secret()
        self.store.put_refresh(refresh, grant.grant_id, grant.expires_at)
        return OAuthToken(
            access_token=access,
            token_type="Bearer",  # noqa: S106 - the token type's name, not a secret
            expires_in=self.tokens.ttl,
            refresh_token=refresh,
            scope=" ".join(scopes) or None,
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> GrantRefreshToken | None:
        found = self.store.refresh_grant(refresh_token)
        if found is None:
            return None
        grant_id, expires_at, used_at = found
        if used_at is not None:
            if self.clock.shared_time() - used_at <= self.refresh_race_seconds:
                self._raced(grant_id)  # the SDK answers None with invalid_grant (a raise here would be a 500)
                return None
            log.warning("oauth.refresh_reused", grant_id=grant_id)  # someone holds a copy: end the grant
            self.store.revoke_grant(grant_id)
            return None
        grant = self.store.live_grant(grant_id)
        if grant is None or grant.client_id != client.client_id:
            return None
        return GrantRefreshToken(
            token=refresh_token,
            client_id=grant.client_id,
            scopes=grant.scopes,
            expires_at=int(expires_at),
            resource=grant.resource,
            subject=grant.subject,
            grant_id=grant_id,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: GrantRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        if not self.store.use_refresh(refresh_token.token):
            # Loaded unused a moment ago, used by another request since: a race, not a replay.
            raise self._raced(refresh_token.grant_id)
        grant = self.store.live_grant(refresh_token.grant_id)
        if grant is None:
            raise TokenError("invalid_grant", "the grant was revoked")
        return self._issue(grant, scopes)

    def _raced(self, grant_id: str) -> TokenError:
        log.info("oauth.refresh_raced", grant_id=grant_id)
        return TokenError(
            "invalid_grant", "this refresh token was just used by another request; use the tokens that request got"
        )

    async def exchange_identity_assertion(
        self, client: OAuthClientInformationFull, params: IdentityAssertionParams
    ) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "the JWT bearer grant is not supported")

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.tokens.verify(token)

    async def revoke_token(self, token: Any) -> None:
        grant_id = token.grant_id if isinstance(token, CallerToken | GrantRefreshToken) else None
        if grant_id:
            self.store.revoke_grant(grant_id)
            log.info("oauth.revoked", grant_id=grant_id)

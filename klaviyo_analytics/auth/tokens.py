"""Bearer tokens accepted on /mcp, and the one TokenVerifier the SDK's bearer middleware asks.

In order: a static token (KLAVIYO_MCP_REST_API_KEY, KLAVIYO_MCP_REST_API_TOKENS, users-file tokens) with the grants the
directory gives it; then, by mode, an embedded access token (an ES256 JWT this server signed, bound
to its /mcp URL, its grant not revoked) or an external IdP's JWT (signature by JWKS, issuer,
audience, expiry; a configurable claim names the user). Anything else — expired, another audience or
issuer, ``alg: none``, a bad signature, a user no longer in the directory — is ``None``: the
middleware answers 401 with ``WWW-Authenticate: Bearer error="invalid_token", resource_metadata=…``.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import anyio.to_thread
import jwt
from mcp.server.auth.provider import AccessToken

from klaviyo_analytics.auth.keys import ALGORITHM, SigningKey
from klaviyo_analytics.auth.oauth_store import OAuthStore
from klaviyo_analytics.auth.principal import Principal
from klaviyo_analytics.auth.users import UserDirectory
from klaviyo_analytics.clock import SYSTEM_CLOCK, Clock
from klaviyo_analytics.logs import get_logger

log = get_logger("klaviyo_analytics.auth")
# Clock skew tolerated between this server and an IdP.
LEEWAY_SECONDS = 30
EXTERNAL_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class CallerToken(AccessToken):
    """An accepted token with the principal it stands for (kept out of serialisation)."""

    principal: Principal | None = None
    grant_id: str | None = None

    def __repr__(self) -> str:  # the token string must not reach a log through a repr
        return f"CallerToken(client_id={self.client_id!r}, subject={self.subject!r})"


class JwtVerifier(Protocol):
    def verify(self, token: str) -> CallerToken | None: ...


class EmbeddedTokens:
    """Access tokens of the embedded authorization server: issue and verify."""

    # Expiries are shared with other processes (and PyJWT checks them on the real clock): shared time.
    clock: Clock = SYSTEM_CLOCK

    def __init__(
        self, key: SigningKey, store: OAuthStore, directory: UserDirectory, issuer: str, resource: str, ttl: int
    ) -> None:
        self.key, self.store, self.directory = key, store, directory
        self.issuer, self.resource, self.ttl = issuer, resource, ttl

    def issue(self, *, subject: str, client_id: str, scopes: list[str], grant_id: str) -> str:
        now = int(self.clock.shared_time())
        claims = {
            "iss": self.issuer,
            "aud": self.resource,
            "sub": subject,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + self.ttl,
            "jti": uuid.uuid4().hex,
            "gid": grant_id,
        }
        return jwt.encode(claims, self.key.private, algorithm=ALGORITHM, headers={"kid": self.key.kid})

    def verify(self, token: str) -> CallerToken | None:
        try:
            claims = jwt.decode(
                token,
                self.key.public,
                algorithms=[ALGORITHM],  # a fixed list: "none" and HMAC-with-the-public-key are refused
                audience=self.resource,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "gid"]},
            )
        except jwt.PyJWTError as exc:
            log.info("auth.token_refused", kind="embedded", reason=type(exc).__name__)
            return None
        grant = self.store.live_grant(str(claims["gid"]))
        principal = self.directory.principal_for_user(str(claims["sub"]))
        if grant is None or principal is None or grant.subject != claims["sub"]:
            log.info("auth.token_refused", kind="embedded", reason="revoked or unknown user")
            return None
        return CallerToken(
            token=token,
            client_id=grant.client_id,
            scopes=grant.scopes,
            expires_at=int(claims["exp"]),
            resource=self.resource,
            subject=principal.user,
            claims={"iss": self.issuer},
            principal=principal,
            grant_id=grant.grant_id,
        )


class ExternalTokens:
    """JWTs of an external identity provider, checked against its JWKS (PyJWT's PyJWKClient, cached)."""

    def __init__(
        self, jwks_url: str, issuer: str, audience: str, user_claim: str, directory: UserDirectory, resource: str
    ) -> None:
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=10)
        self.issuer, self.audience, self.user_claim = issuer, audience, user_claim
        self.directory, self.resource = directory, resource

    def verify(self, token: str) -> CallerToken | None:
        try:
            signing_key = self.jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=EXTERNAL_ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            log.info("auth.token_refused", kind="external", reason=type(exc).__name__)
            return None
        user = claims.get(self.user_claim)
        principal = self.directory.principal_for_user(user) if isinstance(user, str) else None
        if principal is None:
            log.info("auth.token_refused", kind="external", reason="claim names no user", claim=self.user_claim)
            return None
        return CallerToken(
            token=token,
            client_id=str(claims.get("azp") or claims.get("client_id") or "external"),
            scopes=str(claims.get("scope", "")).split(),
            expires_at=int(claims["exp"]),
            resource=self.resource,
            subject=principal.user,
            claims={"iss": self.issuer},
            principal=principal,
        )


class BearerVerifier:
    """The SDK ``TokenVerifier``: static tokens first, then the mode's JWTs."""

    def __init__(self, directory: UserDirectory, resource: str, jwts: JwtVerifier | None) -> None:
        self.directory, self.resource, self.jwts = directory, resource, jwts

    async def verify_token(self, token: str) -> AccessToken | None:
        principal = self.directory.principal_for_token(token)
        if principal is not None:
            return CallerToken(
                token=token,
                client_id="static-token",
                scopes=[],
                resource=self.resource,
                subject=principal.user,
                principal=principal,
            )
        if self.jwts is None or token.count(".") != 2:
            return None
        # Thread: the external verifier may fetch the JWKS, and both read the state file.
        jwts = self.jwts
        return await anyio.to_thread.run_sync(lambda: jwts.verify(token))


def principal_of(access_token: Any) -> Principal | None:
    return access_token.principal if isinstance(access_token, CallerToken) else None

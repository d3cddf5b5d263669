"""Who is looking at the console: sign-in, the session, and the roles that gate each page.

Sign-in exchanges a credential for a signed session cookie, through the same user directory the
REST API uses (``klaviyo_analytics.auth.users``: ``KLAVIYO_MCP_USERS_FILE``, or else the token settings):

- a token: an approver token (``KLAVIYO_MCP_APPROVER_TOKENS``, or a user's token with an approver grant) may
  approve and reject; a REST read token shows the same pages with no decisions (a POST is 403);
- a user name and password, for users of ``KLAVIYO_MCP_USERS_FILE`` with a ``password_hash``.

Each way is an :data:`Authenticator` (form fields in, a :class:`Viewer` or None out). The session
holds how the viewer signed in and who they are (a token's fingerprint, never the token; or the
user id) and when; the :class:`Principal` is looked up again on every request, so removing a token,
a user or a grant takes effect at once, and a session lapses after ``KLAVIYO_MCP_CONSOLE_SESSION_MINUTES``
whatever the cookie says. What a page shows and allows follows the principal's grants per account.

Sessions are also held server-side (``console_sessions`` in the auth state store,
``oauth_store.open_session_store``): the cookie carries a random session id whose row must exist,
so signing out deletes the row and a copied cookie stops working on every worker and machine.

Password sign-in is limited per user name with the OAuth login page's limit and counter
(``KLAVIYO_MCP_OAUTH_LOGIN_RATE_LIMIT``, key ``LOGIN_USER_KEY`` in
``KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE``): the two pages share one budget per user, and shared
across instances with redis://. Every attempt counts, so a burst of parallel guesses cannot slip
past; a refused attempt gets the same message, status and (no argon2 at all) time for a known and
an unknown user.

The cookie: ``HttpOnly``, ``SameSite=Lax`` (a link from Slack or the chat opens the page signed in;
a cross-site POST carries no session), ``Path=/console``, and ``Secure`` when the request came over
TLS or ``KLAVIYO_MCP_CONSOLE_SECURE_COOKIES`` is on (TLS ended at a proxy). Its key is
``KLAVIYO_MCP_CONSOLE_SECRET_KEY`` or a random one in a 0600 file next to the ledger, shared by every
worker on the machine.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Request, current_app, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from klaviyo_analytics.auth import Principal, Role
from klaviyo_analytics.auth.oauth_store import OAuthStore, open_session_store
from klaviyo_analytics.auth.users import LOGIN_USER_KEY, UserDirectory, fingerprint
from klaviyo_analytics.clock import SYSTEM_CLOCK
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.secret_files import write_once

SECRET_FILE = "console_secret"  # noqa: S105 - a file name, not a secret
SESSION_COOKIE = "klaviyo_console"


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    via: str  # "token" or "password"
    key: str  # what the session remembers: the token's fingerprint, or the user id

    @property
    def identity(self) -> str:
        """Who the ledger records as the approver: the same user the REST approve route records."""
        return self.principal.user

    def can(self, account: str, role: Role) -> bool:
        return self.principal.can(account, role)

    def may_approve(self, account: str) -> bool:
        return self.principal.can(account, Role.APPROVER)

    def visible(self, accounts: list[str]) -> list[str]:
        return self.principal.visible(accounts)

    @property
    def role_label(self) -> str:
        """The highest role anywhere, for the page header."""
        grants = self.principal.grants
        if grants is None:
            return Role.APPROVER.value
        return max(grants.values(), key=lambda role: role.rank).value if grants else "none"


Authenticator = Callable[[UserDirectory, Mapping[str, str]], Viewer | None]


def token_sign_in(directory: UserDirectory, form: Mapping[str, str]) -> Viewer | None:
    token = (form.get("token") or "").strip()
    principal = directory.principal_for_token(token) if token else None
    return Viewer(principal, "token", fingerprint(token)) if principal else None


def password_sign_in(directory: UserDirectory, form: Mapping[str, str]) -> Viewer | None:
    user, password = (form.get("username") or "").strip(), form.get("password") or ""
    if not user or not password or not directory.verify_password(user, password):
        return None
    principal = directory.principal_for_user(user)
    return Viewer(principal, "password", user) if principal else None


AUTHENTICATORS: tuple[Authenticator, ...] = (token_sign_in, password_sign_in)


def sign_in(directory: UserDirectory, form: Mapping[str, str]) -> Viewer | None:
    for authenticate in AUTHENTICATORS:
        viewer = authenticate(directory, form)
        if viewer is not None:
            return viewer
    return None


def has_passwords(directory: UserDirectory) -> bool:
    return any(user.password_hash for user in directory.users.values())


class SignInLimit:
    """Password sign-in attempts per user name, counted with the OAuth login page's limit and key."""

    def __init__(self, settings: Settings) -> None:
        self.limit = parse(settings.oauth_login_rate_limit)
        self.limiter = MovingWindowRateLimiter(storage_from_string(settings.rest_rate_limit_storage))

    def allow(self, form: Mapping[str, str]) -> bool:
        user = (form.get("username") or "").strip().lower()
        return not user or bool(self.limiter.hit(self.limit, LOGIN_USER_KEY, user))


def sessions() -> OAuthStore:
    return current_app.extensions["klaviyo_console_sessions"]  # type: ignore[no-any-return]


def start_session(viewer: Viewer, settings: Settings) -> None:
    session.clear()  # a fresh session (and CSRF token) at each sign-in: no fixation
    session.permanent = True
    sid = sessions().start_session(settings.console_session_minutes * 60)
    session.update({"via": viewer.via, "key": viewer.key, "at": int(SYSTEM_CLOCK.time()), "sid": sid})


def end_session() -> None:
    sid = session.get("sid")
    if isinstance(sid, str):
        sessions().end_session(sid)
    session.clear()


def current_viewer(settings: Settings, directory: UserDirectory) -> Viewer | None:
    via, key, started, sid = session.get("via"), session.get("key"), session.get("at"), session.get("sid")
    if not isinstance(via, str) or not isinstance(key, str) or not isinstance(started, int):
        return None
    if SYSTEM_CLOCK.time() - started > settings.console_session_minutes * 60:
        return None
    if not isinstance(sid, str) or not sessions().session_live(sid):
        return None  # signed out (or from before server-side sessions): the cookie alone is not enough
    principal: Principal | None = None
    if via == "token":
        principal = next((p for token, p in directory.tokens if fingerprint(token) == key), None)
    elif via == "password":
        user = directory.users.get(key)
        principal = user.principal if user is not None and user.password_hash else None
    return Viewer(principal, via, key) if principal else None


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, ``Secure`` per request: on when the request came over TLS."""

    def __init__(self, force_secure: bool) -> None:
        self.force_secure = force_secure

    def get_cookie_secure(self, app: Flask) -> bool:
        return self.force_secure or request.is_secure

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # The cookie's Path is /console, so no other request carries one: the JSON API skips
        # building the signer on every call (None: Flask's null session, never saved).
        if not (request.path == "/console" or request.path.startswith("/console/")):
            return None
        return super().open_session(app, request)


def session_secret(settings: Settings) -> str:
    if settings.console_secret_key:
        return settings.console_secret_key
    path = settings.resolved_ledger_path.parent / SECRET_FILE
    return _secret_file(path)


def _secret_file(path: Path) -> str:
    try:
        if not path.exists():
            write_once(path, secrets.token_urlsafe(48).encode())
        if path.stat().st_mode & 0o077:
            raise ConfigError(
                f"{path} is readable by other users; run chmod 600 on it (it signs console sessions)",
                variable="KLAVIYO_MCP_CONSOLE_SECRET_KEY",
            )
        value = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot keep the console's session key in {path} ({exc.strerror}); "
            "set KLAVIYO_MCP_CONSOLE_SECRET_KEY instead",
            variable="KLAVIYO_MCP_CONSOLE_SECRET_KEY",
        ) from None
    if len(value) < 32:
        raise ConfigError(
            f"{path} holds no usable key; delete it to have a new one made", variable="KLAVIYO_MCP_CONSOLE_SECRET_KEY"
        )
    return value


def configure_sessions(app: Flask, settings: Settings) -> None:
    from datetime import timedelta

    app.secret_key = session_secret(settings)
    app.extensions["klaviyo_console_sessions"] = open_session_store(settings)
    app.extensions["klaviyo_console_sign_in_limit"] = SignInLimit(settings)
    app.session_interface = ConsoleSessionInterface(settings.console_secure_cookies)
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/console",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.console_session_minutes),
    )

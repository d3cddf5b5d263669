"""Who is looking at the console: sign-in, the session, and the roles that gate each page.

Sign-in exchanges a credential for a signed session cookie, checked again on every request:

- an approver token (``APPROVER_TOKENS``) gives the ``approver`` role: review, approve, reject;
- a REST read token gives the ``reader`` role: the same pages, no decisions (a POST is 403).

Each way of signing in is an :data:`Authenticator` (form fields in, a :class:`Viewer` or None
out), so a username-and-password login over a user directory is one more entry in
:func:`authenticators`. The session holds the viewer's identity (a token's fingerprint, never the
token), its role and when it signed in; it is re-checked against the configured credentials on
each request, so removing a token ends its sessions, and it lapses after
``CONSOLE_SESSION_MINUTES`` whatever the cookie says.

The cookie: ``HttpOnly``, ``SameSite=Lax`` (a link from Slack or the chat opens the page signed in;
a cross-site POST carries no session), ``Path=/console``, and ``Secure`` when the request came over
TLS or ``CONSOLE_SECURE_COOKIES`` is on (TLS ended at a proxy). Its key is ``CONSOLE_SECRET_KEY`` or
a random one in a 0600 file next to the ledger, shared by every worker on the machine.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from flask import Flask, request, session
from flask.sessions import SecureCookieSessionInterface

from api.auth import fingerprint, matches
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError

Role = Literal["reader", "approver"]
SECRET_FILE = "console_secret"  # noqa: S105 - a file name, not a secret
SESSION_COOKIE = "klaviyo_console"


@dataclass(frozen=True)
class Viewer:
    identity: str  # what the ledger records as the approver (a token's fingerprint, a user name)
    role: Role
    via: str  # how they signed in: "token", "password"

    @property
    def can_approve(self) -> bool:
        return self.role == "approver"


Authenticator = Callable[[Settings, Mapping[str, str]], Viewer | None]


def token_sign_in(settings: Settings, form: Mapping[str, str]) -> Viewer | None:
    token = (form.get("token") or "").strip()
    if not token:
        return None
    if matches(token, settings.approver_tokens):
        return Viewer(fingerprint(token), "approver", "token")
    if matches(token, settings.rest_tokens):
        return Viewer(fingerprint(token), "reader", "token")
    return None


def authenticators() -> tuple[Authenticator, ...]:
    return (token_sign_in,)


def sign_in(settings: Settings, form: Mapping[str, str]) -> Viewer | None:
    for authenticate in authenticators():
        viewer = authenticate(settings, form)
        if viewer is not None:
            return viewer
    return None


def _token_role(settings: Settings, identity: str) -> Role | None:
    """The role a token fingerprint still has, or None once its token is no longer configured."""
    if identity in {fingerprint(t) for t in settings.approver_tokens}:
        return "approver"
    if identity in {fingerprint(t) for t in settings.rest_tokens}:
        return "reader"
    return None


def start_session(viewer: Viewer) -> None:
    session.clear()  # a fresh session (and CSRF token) at each sign-in: no fixation
    session.permanent = True
    session.update({"who": viewer.identity, "role": viewer.role, "via": viewer.via, "at": int(time.time())})


def current_viewer(settings: Settings) -> Viewer | None:
    identity, via, started = session.get("who"), session.get("via"), session.get("at")
    if not isinstance(identity, str) or not isinstance(started, int):
        return None
    if time.time() - started > settings.console_session_minutes * 60:
        return None
    role = _token_role(settings, identity) if via == "token" else None
    return Viewer(identity, role, "token") if role else None


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, ``Secure`` per request: on when the request came over TLS."""

    def __init__(self, force_secure: bool) -> None:
        self.force_secure = force_secure

    def get_cookie_secure(self, app: Flask) -> bool:
        return self.force_secure or request.is_secure


def session_secret(settings: Settings) -> str:
    if settings.console_secret_key:
        return settings.console_secret_key
    path = settings.resolved_ledger_path.parent / SECRET_FILE
    return _secret_file(path)


def _secret_file(path: Path) -> str:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker made it first: use theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        if path.stat().st_mode & 0o077:
            raise ConfigError(
                f"{path} is readable by other users; run chmod 600 on it (it signs console sessions)",
                variable="CONSOLE_SECRET_KEY",
            )
        value = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot keep the console's session key in {path} ({exc.strerror}); set CONSOLE_SECRET_KEY instead",
            variable="CONSOLE_SECRET_KEY",
        ) from None
    if len(value) < 32:
        raise ConfigError(
            f"{path} holds no usable key; delete it to have a new one made", variable="CONSOLE_SECRET_KEY"
        )
    return value


def configure_sessions(app: Flask, settings: Settings) -> None:
    from datetime import timedelta

    app.secret_key = session_secret(settings)
    app.session_interface = ConsoleSessionInterface(settings.console_secure_cookies)
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/console",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.console_session_minutes),
    )

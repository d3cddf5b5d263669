"""Token authentication for every route but /health and /openapi.json.

A token arrives as ``Authorization: Bearer <token>`` or ``X-API-Key: <token>`` and is compared
in constant time with each configured token. The caller's identity in logs and the ledger is
a short fingerprint of the token, never the token.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, g, request

from api.errors import error_response
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ForbiddenError, UnauthenticatedError

PUBLIC_PATHS = frozenset({"/health", "/openapi.json"})
# The approval console signs people in with a session of its own (api/console/access.py).
CONSOLE_PREFIX = "/console"


def is_console(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def fingerprint(token: str) -> str:
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:10]


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.headers.get("X-API-Key", "").strip() or None


def matches(token: str, candidates: tuple[str, ...]) -> bool:
    # Compare against every candidate, so timing reveals neither which nor how many matched.
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(token.encode(), candidate.encode())
    return found


def install_auth(app: Flask, settings: Settings) -> None:
    tokens = settings.rest_tokens

    @app.before_request
    def require_token() -> Response | None:
        if request.path in PUBLIC_PATHS or is_console(request.path):
            return None
        token = presented_token()
        if token is None:
            return error_response(
                UnauthenticatedError("missing credential: send 'Authorization: Bearer <token>' or 'X-API-Key: <token>'")
            )
        if not matches(token, tokens + settings.approver_tokens):
            return error_response(ForbiddenError("the token is not valid for this server"))
        g.caller = fingerprint(token)
        g.is_approver = matches(token, settings.approver_tokens)
        g.is_reader = matches(token, tokens)
        return None

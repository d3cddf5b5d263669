"""Token authentication for every route but /health and /openapi.json.

A token arrives as ``Authorization: Bearer <token>`` or ``X-API-Key: <token>`` and resolves,
through the user directory (``klaviyo_analytics.auth.users``: ``KLAVIYO_MCP_USERS_FILE``, or else the REST
token settings), to a ``Principal``: the user and their grants, which the tool runner enforces.
``g.caller`` (rate limits, logs) is a short fingerprint of the token, never the token;
``g.principal.user`` is who the ledger records.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from api.errors import error_response
from klaviyo_analytics.auth.users import UserDirectory, fingerprint
from klaviyo_analytics.errors import ForbiddenError, UnauthenticatedError

PUBLIC_PATHS = frozenset({"/health", "/openapi.json"})
# The approval console signs people in with a session of its own (api/console/access.py).
CONSOLE_PREFIX = "/console"


def is_console(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


__all__ = ["PUBLIC_PATHS", "fingerprint", "install_auth", "presented_token"]


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.headers.get("X-API-Key", "").strip() or None


def install_auth(app: Flask, directory: UserDirectory) -> None:
    app.extensions["klaviyo_users"] = directory

    @app.before_request
    def require_token() -> Response | None:
        if request.path in PUBLIC_PATHS or is_console(request.path):
            return None
        token = presented_token()
        if token is None:
            return error_response(
                UnauthenticatedError("missing credential: send 'Authorization: Bearer <token>' or 'X-API-Key: <token>'")
            )
        principal = directory.principal_for_token(token)
        if principal is None:
            return error_response(ForbiddenError("the token is not valid for this server"))
        g.caller = fingerprint(token)
        g.principal = principal
        return None

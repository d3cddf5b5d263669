"""The REST adapter's one error shape: ``{"error": {"code", "message", "details"}}``.

Product errors keep their code and map to their HTTP status; Flask's own HTTP errors
(404, 405, 413, ...) are reshaped the same way; anything unexpected becomes a 500 with no
internals in the body (the traceback goes to the server log).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.rules.untrusted import scrub
from klaviyo_analytics.tools import internal_error

HTTP_CODES = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class RequestReadTimeout(Exception):
    """The request's bytes did not all arrive in time (raised by the gunicorn worker's socket,
    api/gunicorn_worker.py, while gunicorn or the app reads the request)."""


def read_timeout(exc: RequestReadTimeout) -> Response:
    response = jsonify({"error": {"code": "REQUEST_TIMEOUT", "message": str(exc), "details": {}}})
    response.status_code = 408
    return response


class ScrubbedJSON(DefaultJSONProvider):
    """Every JSON answer of the app with hidden characters stripped from its strings
    (``untrusted.scrub``): tool envelopes, approval answers and error bodies alike, so an id or a
    name echoed from the request (CR, LF, NUL, bidi overrides) never comes back as itself."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return super().dumps(scrub(obj), **kwargs)


def error_response(error: KlaviyoMCPError, status: int | None = None) -> Response:
    response = jsonify({"error": error.to_dict()})
    response.status_code = status or error.http_status
    retry = error.details.get("retry_after_seconds")
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response


def http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = HTTP_CODES.get(status, "HTTP_ERROR")
    error = KlaviyoMCPError(exc.description or exc.name)
    body = {"error": {"code": code, "message": error.message, "details": {}}}
    response = jsonify(body)
    response.status_code = status
    # A 405 must say what is allowed (RFC 9110); werkzeug's own headers are otherwise HTML-specific.
    for name, value in exc.get_headers():
        if name.lower() == "allow":
            response.headers[name] = value
    return response


def install_error_handlers(app: Flask) -> None:
    app.register_error_handler(KlaviyoMCPError, error_response)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(RequestReadTimeout, read_timeout)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        return error_response(internal_error("REST request", exc))

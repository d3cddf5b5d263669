"""What a REST request may be: how often per caller, and what its JSON body may look like.

Rate (Flask-Limiter, ``REST_RATE_LIMIT`` per caller, counts in ``REST_RATE_LIMIT_STORAGE``):
the caller is the token's fingerprint — the same ``g.caller`` auth records — or, for a request
without a valid token, its remote address, so guessing tokens is throttled too. The check runs
before auth for that reason. Every limited response carries ``X-RateLimit-Limit``,
``-Remaining`` and ``-Reset``; past the limit the answer is 429 ``RATE_LIMITED`` with
``Retry-After``, in the one error shape. ``/health`` and ``/openapi.json`` are never limited.
If a shared store is unreachable the limiter fails open and logs it: an outage of the counter
store should not become an outage of the API.

Body (after auth, before any route): a POST body must be JSON, UTF-8, and nested at most
:data:`MAX_JSON_DEPTH` deep — checked on the raw text before parsing, so a 10,000-deep array is
a clear 400 rather than a RecursionError deep in the parser. It is parsed once, strictly
(``parse_json``: a key twice in one object, an integer of more than :data:`MAX_INT_DIGITS`
digits, NaN/Infinity are each a 400 naming the field), and routes read that parse
(``json_body``). Size is capped by Flask's ``MAX_CONTENT_LENGTH`` (413).
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

from flask import Flask, Response, g, request
from flask_limiter import HeaderNames, Limiter, RateLimitExceeded
from limits.errors import ConfigurationError

from api.auth import fingerprint, is_console, presented_token
from api.errors import error_response
from klaviyo_analytics.auth.users import UserDirectory
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError, InvalidArgumentError, RateLimitedError

EXEMPT_PATHS = frozenset({"/health", "/openapi.json"})
LIMITER_RETRY_HEADER = "X-Limiter-Retry-After"  # never sent: see drop_limiter_retry_after
# Tool inputs are flat objects with a list or two; nothing legitimate comes near this.
MAX_JSON_DEPTH = 32
# No field takes a number anywhere near this; Python refuses int<->str past 4300 digits anyway.
MAX_INT_DIGITS = 100
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def install_rate_limits(app: Flask, settings: Settings, directory: UserDirectory) -> Limiter:
    """Register the limiter; call before ``install_auth`` so its check runs first."""

    def caller_key() -> str:
        caller = g.get("caller")
        if caller:
            return str(caller)
        token = presented_token()
        if token is not None and directory.principal_for_token(token) is not None:
            return fingerprint(token)
        return f"addr:{request.remote_addr or 'unknown'}"

    @app.after_request
    def drop_limiter_retry_after(response: Response) -> Response:
        # Flask-Limiter would stamp its window's reset as Retry-After on every response, even over a
        # Klaviyo 429's shorter wait; Retry-After is error_response's alone (from the error's details).
        # Registered before the limiter: after_request runs in reverse order, so this sees its header.
        response.headers.pop(LIMITER_RETRY_HEADER, None)
        return response

    try:
        limiter = Limiter(
            caller_key,
            app=app,
            default_limits=[settings.rest_rate_limit],
            storage_uri=settings.rest_rate_limit_storage,
            strategy="fixed-window",
            headers_enabled=True,
            key_prefix="klaviyo-mcp",
            header_name_mapping={HeaderNames.RETRY_AFTER: LIMITER_RETRY_HEADER},
            swallow_errors=True,
        )
    except ConfigurationError as exc:
        raise ConfigError(
            f"REST_RATE_LIMIT_STORAGE cannot be used: {exc}", variable="REST_RATE_LIMIT_STORAGE"
        ) from None
    # Flask-Limiter connects lazily (and then fails open), so a store that cannot answer is found here.
    if not settings.rest_rate_limit_storage.startswith("memory://") and not limiter.storage.check():
        raise ConfigError(
            "REST_RATE_LIMIT_STORAGE cannot be reached; start it or point the variable at a reachable store",
            variable="REST_RATE_LIMIT_STORAGE",
        )
    limiter.request_filter(lambda: request.path in EXEMPT_PATHS)
    app.extensions["klaviyo_limiter"] = limiter

    def too_many(exc: RateLimitExceeded) -> Response:
        current = limiter.current_limit
        reset_at = current.reset_at if current is not None else time.time() + 1
        wait = max(1, math.ceil(reset_at - time.time()))
        return error_response(
            RateLimitedError(
                f"too many requests: this caller may make {exc.description} requests; retry in {wait} s",
                retry_after_seconds=wait,
                limit=exc.description,
            )
        )

    app.register_error_handler(RateLimitExceeded, too_many)

    return limiter


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, without parsing (strings skipped)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_json_body() -> None:
    if request.method not in BODY_METHODS or is_console(request.path):  # the console posts HTML forms
        return
    if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
        raise InvalidArgumentError("send the body with a Content-Length header, not chunked", field="(body)")
    if not request.content_length:
        return
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if not request.is_json or charset not in {"utf-8", "utf8"}:
        raise InvalidArgumentError("send the body as JSON (Content-Type: application/json)", field="(body)")
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug raises 413 here
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError(f"the body is not UTF-8 (bad byte at offset {exc.start})", field="(body)") from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise InvalidArgumentError(f"the body nests deeper than {MAX_JSON_DEPTH} levels", field="(body)")
    g.json_body = parse_json(text)


class _Refused:
    """A number parsing refused (too many digits, or not finite); reported with its field."""

    def __init__(self, why: str) -> None:
        self.why = why


def _int(text: str) -> int | _Refused:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return _Refused(f"an integer of {digits} digits; numbers here have at most {MAX_INT_DIGITS}")
    return int(text)


def _float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused(f"{text[:20]}… is not a finite number")


def _constant(text: str) -> _Refused:
    return _Refused(f"{text} is not JSON")  # NaN, Infinity, -Infinity: Python's json accepts them


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:  # json.loads keeps the last: {"account": "acme", "account": "globex"} ran on globex
            raise InvalidArgumentError(f"the key {key!r} appears twice in one object; give it once", field=key)
        out[key] = value
    return out


def _refused(value: Any, path: str = "") -> tuple[str, str] | None:
    """(field, why) of the first refused number in the parsed body."""
    if isinstance(value, _Refused):
        return path or "(body)", value.why
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _refused(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def parse_json(text: str) -> Any:
    """The body as JSON, strictly: one value per key, bounded integers, finite numbers only."""
    try:
        value = json.loads(
            text, object_pairs_hook=_unique, parse_int=_int, parse_float=_float, parse_constant=_constant
        )
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(
            f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", field="(body)"
        ) from None
    refused = _refused(value)
    if refused:
        raise InvalidArgumentError(f"{refused[0]}: {refused[1]}", field=refused[0])
    return value


def json_body() -> Any:
    """The request's JSON body as ``check_json_body`` parsed it (parsed here if it did not run)."""
    if "json_body" not in g:
        g.json_body = parse_json(request.get_data(cache=True).decode("utf-8", "replace"))
    return g.json_body


def install_body_checks(app: Flask) -> None:
    """Register the body check; call after ``install_auth`` so strangers' bodies are never read."""
    app.before_request(check_json_body)

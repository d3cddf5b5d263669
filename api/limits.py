"""What a REST request may be: how often per caller, and what its JSON body may look like.

Rate (``KLAVIYO_MCP_REST_RATE_LIMIT`` per caller, fixed windows counted in
``KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE``, by the ``limits`` package that Flask-Limiter is built on): the
caller is the token's fingerprint — the same ``g.caller`` auth records — or, for a request without a
valid token, its remote address, so guessing tokens is throttled too. The check runs before auth for
that reason. Every limited response carries ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset``; past
the limit the answer is 429 ``RATE_LIMITED`` with ``Retry-After``, in the one error shape. ``/health``
and ``/openapi.json`` are never limited. If a shared store is unreachable the check fails open and logs
it: an outage of the counter store should not become an outage of the API.

The check is the storage calls alone — one increment per window and one expiry read for the
headers (two round trips for one window on Redis) — instead of Flask-Limiter's per-request
machinery (limit resolution, filters, a count, then a second read of each window for the
headers), which was about a third of a cached request's time in process. ``memory://`` is
:class:`LocalWindows`, not ``limits``' MemoryStorage: that one starts a timer thread every 10 ms
of traffic to expire keys, and under load each start (which waits for the new thread to run) cost
a gunicorn worker about 0.3 ms of every request.

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
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, Response, g, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import Storage, storage_from_string

from api.auth import fingerprint, is_console, presented_token
from api.errors import error_response
from klaviyo_analytics.auth.users import UserDirectory
from klaviyo_analytics.clock import SYSTEM_CLOCK
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError, InvalidArgumentError, RateLimitedError
from klaviyo_analytics.logs import get_logger

log = get_logger("api.limits")

EXEMPT_PATHS = frozenset({"/health", "/openapi.json"})
KEY_PREFIX = "klaviyo-mcp"
# LocalWindows drops expired windows when it holds this many (one per caller and window).
LOCAL_WINDOWS_PURGE_AT = 10_000
# Tool inputs are flat objects with a list or two; nothing legitimate comes near this.
MAX_JSON_DEPTH = 32
# No field takes a number anywhere near this; Python refuses int<->str past 4300 digits anyway.
MAX_INT_DIGITS = 100
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class Counter(Protocol):
    def incr(self, key: str, expiry: float, amount: int = 1) -> int: ...

    def get_expiry(self, key: str) -> float: ...

    def check(self) -> bool: ...


class LocalWindows:
    """``memory://``: fixed windows counted in this process; expired windows are dropped lazily."""

    def __init__(self, clock: Callable[[], float] = SYSTEM_CLOCK.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, list[float]] = {}  # key -> [count, expires_at]

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = self._clock()
        with self._lock:
            window = self._windows.get(key)
            if window is None or window[1] <= now:
                if len(self._windows) >= LOCAL_WINDOWS_PURGE_AT:
                    self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                window = self._windows[key] = [0, now + expiry]
            window[0] += amount
            return int(window[0])

    def get_expiry(self, key: str) -> float:
        with self._lock:
            window = self._windows.get(key)
        return window[1] if window is not None else self._clock()

    def check(self) -> bool:
        return True


@dataclass(frozen=True)
class Window:
    """Where one request stands in the tightest of the caller's windows (for the headers)."""

    item: RateLimitItem
    remaining: int
    reset_at: float
    refused: RateLimitItem | None


class RestLimiter:
    def __init__(self, settings: Settings, directory: UserDirectory) -> None:
        self.items = parse_many(settings.rest_rate_limit)
        self.storage: Counter | Storage
        if settings.rest_rate_limit_storage == "memory://":
            self.storage = LocalWindows()
            self._directory = directory
            return
        try:
            storage = storage_from_string(settings.rest_rate_limit_storage)
        except ConfigurationError as exc:
            raise ConfigError(
                f"KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE cannot be used: {exc}",
                variable="KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE",
            ) from None
        if not isinstance(storage, Storage):  # an async+ storage: the settings refuse it already
            raise ConfigError(
                "KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE must be a synchronous store",
                variable="KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE",
            )
        self.storage = storage
        self._directory = directory

    def caller_key(self) -> str:
        caller = g.get("caller")
        if caller:
            return str(caller)
        token = presented_token()
        if token is not None and self._directory.principal_for_token(token) is not None:
            return fingerprint(token)
        return f"addr:{request.remote_addr or 'unknown'}"

    def hit(self, caller: str) -> Window:
        """Count this request in every window; the tightest one (least left) names the headers."""
        tightest: tuple[int, RateLimitItem, str] | None = None
        refused = None
        for item in self.items:
            key = item.key_for(KEY_PREFIX, caller)
            count = self.storage.incr(key, item.get_expiry())
            if count > item.amount and refused is None:
                refused = item
            left = max(0, item.amount - count)
            if tightest is None or left < tightest[0]:
                tightest = (left, item, key)
        assert tightest is not None  # parse_many never returns an empty list
        left, item, key = tightest
        return Window(item, left, self.storage.get_expiry(key), refused)


def install_rate_limits(app: Flask, settings: Settings, directory: UserDirectory) -> RestLimiter:
    """Register the limit check; call before ``install_auth`` so it runs first."""
    limiter = RestLimiter(settings, directory)
    # Storages other than memory connect lazily, so one that cannot answer is found here.
    if not settings.rest_rate_limit_storage.startswith("memory://") and not limiter.storage.check():
        raise ConfigError(
            "KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE cannot be reached; "
            "start it or point the variable at a reachable store",
            variable="KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE",
        )
    app.extensions["klaviyo_limiter"] = limiter

    @app.before_request
    def check_rate() -> Response | None:
        if request.path in EXEMPT_PATHS or request.endpoint in (None, "static"):
            return None
        try:
            window = limiter.hit(limiter.caller_key())
        except Exception as exc:  # the counter store is down: fail open, say so in the log
            log.warning("rest.rate_limit_unavailable", error_type=type(exc).__name__)
            return None
        g.rate_window = window
        if window.refused is None:
            return None
        wait = max(1, math.ceil(window.reset_at - SYSTEM_CLOCK.time()))
        return error_response(
            RateLimitedError(
                f"too many requests: this caller may make {window.refused} requests; retry in {wait} s",
                retry_after_seconds=wait,
                limit=str(window.refused),
            )
        )

    @app.after_request
    def rate_headers(response: Response) -> Response:
        window: Window | None = g.get("rate_window")
        if window is not None:
            response.headers["X-RateLimit-Limit"] = str(window.item.amount)
            response.headers["X-RateLimit-Remaining"] = str(window.remaining)
            response.headers["X-RateLimit-Reset"] = str(int(window.reset_at))
        return response

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

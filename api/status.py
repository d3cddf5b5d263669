"""``GET /health``: is this process fit to serve? No token needed, so it says only that: the whole
``status``, the version, and each component's ``status`` (with a fixed ``message`` when it is
unavailable). ``GET /health/details`` (an approver's token: a KLAVIYO_MCP_APPROVER_TOKENS one, or a user who
approves on some account) adds what each component reports below.

Each component reports ``status`` ``ok`` or ``unavailable``; the whole is ``ok`` (HTTP 200) only
when every component is, else ``degraded`` (HTTP 503, so a load balancer stops routing here).

    ledger    the SQLite action ledger answers (journal mode, schema version, proposals per status);
              its file path is left out: the endpoint is public
    accounts  how many accounts accounts.toml configures (a count: no names, never a key)
    auth      where users come from (the users file, or the token settings) and how many users and
              tokens (counts only: no user id, never a token)
    quota     the shared quota store (KLAVIYO_MCP_QUOTA_STORE): its backend, and ``unavailable`` with
              ``degraded: true`` while this process pauses Klaviyo calls because the store stopped answering

The endpoint is public and probed often, and each answer reads the ledger and pings the quota
store; so a process answers from its last report for :data:`HEALTH_TTL_SECONDS` (a flood of
probes costs one SQLite read a second, not one per probe), the body already serialized.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g

from api.errors import error_response
from klaviyo_analytics.auth import Principal, Role
from klaviyo_analytics.auth.users import UserDirectory
from klaviyo_analytics.clock import SYSTEM_CLOCK
from klaviyo_analytics.errors import ForbiddenError
from klaviyo_analytics.logs import get_logger
from klaviyo_analytics.service import KlaviyoService

log = get_logger("api.health")
# What ledger_health() may tell the public; anything else it grows stays private until added here.
PUBLIC_LEDGER_KEYS = ("backend", "journal_mode", "schema_version", "proposals", "stale_leases")
# Short enough that a load balancer sees a failure within its next probe or two.
HEALTH_TTL_SECONDS = 1.0


def ledger_component(service: KlaviyoService) -> dict[str, Any]:
    try:
        health = service.ledger.ledger_health()
    except Exception as exc:  # whatever broke, /health must answer, and without internals
        log.exception("health.ledger_unavailable", error_type=type(exc).__name__)
        return {"status": "unavailable", "message": "the action ledger cannot be read; the server log says why"}
    return {"status": "ok", **{key: health[key] for key in PUBLIC_LEDGER_KEYS if key in health}}


def accounts_component(service: KlaviyoService) -> dict[str, Any]:
    try:
        count = len(service.registry.names)
    except Exception as exc:
        log.exception("health.accounts_unavailable", error_type=type(exc).__name__)
        return {"status": "unavailable", "message": "the account registry cannot be read; the server log says why"}
    if count == 0:
        return {"status": "unavailable", "count": 0, "message": "accounts.toml configures no account"}
    return {"status": "ok", "count": count}


def quota_component(service: KlaviyoService) -> dict[str, Any]:
    from klaviyo_analytics.quota import DEGRADED_WARNING, GuardedStore, StoreUnavailable

    store = service.client.store
    if isinstance(store, GuardedStore) and not store.degraded:
        try:
            store.ping()
        except StoreUnavailable as exc:
            store.degrade(exc)  # the probe that finds it down pauses Klaviyo calls
    elif isinstance(store, GuardedStore):
        store.probe()  # paused: a store that answers again ends the pause
    if isinstance(store, GuardedStore) and store.degraded:
        return {"status": "unavailable", "backend": store.backend, "degraded": True, "message": DEGRADED_WARNING}
    return {"status": "ok", "backend": store.backend, "degraded": False}


def health_report(
    service: KlaviyoService, version: str, directory: UserDirectory | None = None
) -> tuple[dict[str, Any], int]:
    components = {
        "ledger": ledger_component(service),
        "accounts": accounts_component(service),
        "quota": quota_component(service),
    }
    if directory is not None:
        # Loaded (and validated) at start-up: a server with a broken users file never starts.
        components["auth"] = directory.health()
    ok = all(component["status"] == "ok" for component in components.values())
    body = {"status": "ok" if ok else "degraded", "version": version, "components": components}
    return body, 200 if ok else 503


def public_view(body: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see: statuses (and the fixed message of an unavailable component), no counts."""
    components = {
        name: {key: part[key] for key in ("status", "message") if key in part}
        for name, part in body["components"].items()
    }
    return {"status": body["status"], "version": body["version"], "components": components}


def may_see_details(principal: Principal | None) -> bool:
    if principal is None:
        return False
    return principal.grants is None or any(role is Role.APPROVER for role in principal.grants.values())


class CachedHealth:
    """The last health report (status, the public JSON body and the detailed one), kept ``ttl`` seconds."""

    def __init__(
        self,
        build: Callable[[], tuple[dict[str, Any], int]],
        ttl: float = HEALTH_TTL_SECONDS,
        clock: Callable[[], float] = SYSTEM_CLOCK.monotonic,
    ) -> None:
        self._build = build
        self._ttl = ttl
        self.clock = clock  # a test seam, like the ttl
        self._lock = threading.Lock()
        self._until = float("-inf")
        self._answer: tuple[bytes, bytes, int] = (b"", b"", 503)

    def _current(self) -> tuple[bytes, bytes, int]:
        with self._lock:  # one probe builds; the others wait for its answer instead of repeating it
            if self.clock() >= self._until:
                body, status = self._build()
                self._answer = (_dump(public_view(body)), _dump(body), status)
                self._until = self.clock() + self._ttl
            return self._answer

    def answer(self) -> tuple[bytes, int]:
        public, _, status = self._current()
        return public, status

    def details(self) -> tuple[bytes, int]:
        _, detailed, status = self._current()
        return detailed, status


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def install_health(
    app: Flask, service: KlaviyoService, directory: UserDirectory | None = None, *, ttl: float = HEALTH_TTL_SECONDS
) -> CachedHealth:
    cached = CachedHealth(lambda: health_report(service, app.extensions["klaviyo_version"], directory), ttl)
    app.extensions["klaviyo_health"] = cached

    @app.get("/health")
    def health() -> Response:
        return _respond(*cached.answer())

    @app.get("/health/details")
    def health_details() -> Response:
        if not may_see_details(g.get("principal")):
            return error_response(ForbiddenError("/health/details is for approvers: send an approver's token"))
        return _respond(*cached.details())

    return cached


def _respond(body: bytes, status: int) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response

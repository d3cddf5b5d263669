"""The sandbox: one request handler behind an httpx transport and a WSGI app.

Every ``/api`` request goes through the same pipeline, in Klaviyo's order where it is known:
route (404/405) → injected faults → API key (401) → ``revision`` header (400) → scopes (403) →
rate limits (429, counted per key) → query parameters (400) → body frame (400) → the
operation's handler. Every request is logged (never the key itself, only its label). The
``/__sandbox/*`` routes (log, state, reset, faults) answer only the in-process transport and
loopback callers.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from klaviyo_analytics.clock import SYSTEM_CLOCK, Clock, pinned_on
from klaviyo_sandbox import faults as faults_mod
from klaviyo_sandbox import params, revision, spec
from klaviyo_sandbox.activity import ACTIVITY_HANDLERS
from klaviyo_sandbox.adapters import SandboxTransport, make_wsgi_app
from klaviyo_sandbox.clones import CLONE_HANDLERS
from klaviyo_sandbox.config import ACCOUNT_SEEDS, DemoAccount, SandboxConfig
from klaviyo_sandbox.handlers import READ_HANDLERS, Context, Reply
from klaviyo_sandbox.introspect import introspect
from klaviyo_sandbox.jsonapi import MEDIA_TYPE, ApiError
from klaviyo_sandbox.ratelimit import RateLimiter, format_seconds
from klaviyo_sandbox.store import Store
from klaviyo_sandbox.subscriptions import SUBSCRIPTION_HANDLERS
from klaviyo_sandbox.webhooks import WEBHOOK_HANDLERS
from klaviyo_sandbox.wire import SandboxRequest, SandboxResponse, json_response
from klaviyo_sandbox.writes import WRITE_HANDLERS

HANDLERS: dict[str, Callable[[Context], Reply]] = {
    **READ_HANDLERS,
    **WRITE_HANDLERS,
    **SUBSCRIPTION_HANDLERS,
    **WEBHOOK_HANDLERS,
    **CLONE_HANDLERS,
    **ACTIVITY_HANDLERS,
}
_AUTH = re.compile(r"^Klaviyo-API-Key\s+(\S+)$")


@dataclass(frozen=True)
class ApiKey:
    slug: str
    label: str
    scopes: frozenset[str] | None  # None: every scope


def sandbox_clock(config: SandboxConfig) -> Clock:
    """The sandbox's clock: the configured one, else noon (UTC) of the anchor running on, else the machine's."""
    if isinstance(config.clock, Clock):
        return config.clock
    if config.anchor is not None:
        return pinned_on(config.anchor)
    return SYSTEM_CLOCK


class Sandbox:
    """A Klaviyo emulator with seeded accounts. See the package docstring for the interface."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock = sandbox_clock(self.config)
        self.anchor: date = self.config.anchor or self.clock.today()
        self.store = Store(self.config.seed, self.config.size, self.anchor, self.clock)
        given = self.config.clock
        limiter_clock = given if given is not None and not isinstance(given, Clock) else self.clock.monotonic
        self.limiter = RateLimiter(self.config.time_scale, limiter_clock)
        self._faults: faults_mod.FaultInjector | None = None
        self._faults_lock = threading.Lock()
        self.set_faults(self.config.faults)
        self._keys: dict[str, ApiKey] = {}
        self._extra = 0
        for seed in ACCOUNT_SEEDS:
            self._keys[seed.api_key] = ApiKey(seed.slug, f"{seed.slug}:default", None)
        self.accounts: list[DemoAccount] = [
            DemoAccount(
                slug=seed.slug,
                label=seed.label,
                key_env=seed.key_env,
                api_key=seed.api_key,
                conversion_metric_id=self.store.accounts[seed.slug].metric_id("Placed Order"),
                timezone=seed.timezone,
                currency=seed.currency,
            )
            for seed in ACCOUNT_SEEDS
        ]
        self.transport = SandboxTransport(self.handle)
        self.wsgi_app = make_wsgi_app(self.handle)

    # -- the public surface ---------------------------------------------------------------------

    def add_key(
        self, account_slug: str, api_key: str, scopes: list[str] | None = None, label: str | None = None
    ) -> None:
        """Register an extra key for ``account_slug``; requests needing any other scope get 403."""
        if account_slug not in self.store.accounts:
            raise KeyError(f"unknown account {account_slug!r}")
        self._extra += 1
        name = label or f"{account_slug}:extra-{self._extra}"
        self._keys[api_key] = ApiKey(account_slug, name, frozenset(scopes) if scopes is not None else None)

    def set_faults(self, config: faults_mod.FaultConfig | None) -> None:
        with self._faults_lock:
            self._faults = faults_mod.FaultInjector(config) if config is not None else None

    @property
    def faults(self) -> faults_mod.FaultConfig | None:
        return self._faults.config if self._faults else None

    def log(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return list(self.store.entries)

    def state(self) -> dict[str, Any]:
        return self.store.state()

    def reset(self) -> None:
        """Back to the seeded objects; log, records and rate-limit windows cleared, fault dice re-seeded."""
        self.store.reset()
        self.limiter.reset()
        self.set_faults(self.faults)

    def now(self) -> datetime:
        """The sandbox clock's instant; with an anchor alone, noon (UTC) of the anchor date plus the
        time since start.

        The seeded data ends at the anchor's midnight (UTC), so at noon "today" in every account's
        timezone is the anchor date and its "yesterday" holds the last seeded events.
        """
        return self.clock.now()

    # -- the pipeline ---------------------------------------------------------------------------

    def handle(self, req: SandboxRequest) -> SandboxResponse:
        if req.path.startswith("/__sandbox/"):
            return introspect(self, req)
        entry: dict[str, Any] = {
            "time": self.clock.now().isoformat(),
            "method": req.method,
            "path": req.path,
            "query": dict(req.query),
            "body": _logged_body(req.body),
            "status": None,
            "account": None,
            "key": None,
            "operation": None,
            "fault": None,
        }
        try:
            response = self._handle(req, entry)
        except ApiError as err:
            response = json_response(err.status, err.document())
            response.headers.extend(err.headers.items())
        entry["status"] = response.status if response.drop is None else None
        self.store.log(entry)
        return response

    def _handle(self, req: SandboxRequest, entry: dict[str, Any]) -> SandboxResponse:
        op, path_params = revision.match(req.method, req.path, req.headers.get("revision"))
        entry["operation"] = op.operation_id
        if op.operation_id == "send_campaign":
            self._record_send_attempt(req, entry)
        injector = self._faults
        decision = injector.decide(req.method, req.path) if injector else faults_mod.NO_FAULT
        entry["fault"] = decision.kind
        if decision.latency:
            self.clock.sleep(decision.latency)
        if decision.kind is not None and decision.kind != "applied_error":
            return self._fault_response(decision, req, op, path_params, entry)
        response = self._serve(req, op, path_params, entry)
        if decision.kind == "applied_error" and response.status < 300:
            error = ApiError(500, "error", "A server error occurred (the request was applied).")
            return json_response(500, error.document())
        return response

    def _serve(
        self, req: SandboxRequest, op: spec.Operation, path_params: dict[str, str], entry: dict[str, Any]
    ) -> SandboxResponse:
        key = self._authenticate(req)
        entry["account"], entry["key"] = key.slug, key.label
        asked = revision.check(req.headers.get("revision"))
        missing = [s for s in op.scopes if key.scopes is not None and s not in key.scopes]
        if missing:
            raise ApiError(
                403, "permission_denied", f"This API key is missing the required scope: {', '.join(missing)}."
            )
        bucket, limits = op.rate_bucket(dict(req.query))
        # Klaviyo counts per account: every key of one account draws on one quota.
        decision = self.limiter.check(key.slug, bucket, limits)
        if not decision.allowed:
            return self._throttled(decision.retry_after)
        scale = self.config.time_scale
        headers = [
            ("RateLimit-Limit", str(decision.limit)),
            ("RateLimit-Remaining", str(decision.remaining)),
            ("RateLimit-Reset", format_seconds(decision.reset, scale)),
        ]
        try:
            with self.store.lock:
                status, doc = self._dispatch(req, op, path_params, key, asked)
        except ApiError as err:
            response = json_response(err.status, err.document())
        else:
            response = json_response(status, doc) if doc is not None else SandboxResponse(status)
        response.headers.extend(headers)
        return response

    def _dispatch(
        self, req: SandboxRequest, op: spec.Operation, path_params: dict[str, str], key: ApiKey, asked: str
    ) -> Reply:
        query = params.parse_query(op, req.query)
        form = op.body is not None and op.body.get("multipart")
        data = params.check_body(op, params.parse_json(req.body)) if op.body is not None and not form else None
        ctx = Context(
            store=self.store,
            slug=key.slug,
            account=self.store.accounts[key.slug],
            op=op,
            params=path_params,
            query=query,
            raw_query=req.query,
            data=data,
            base=self.config.public_url or req.base_url,
            path=req.path,
            now=self.now(),
            serializers=revision.serializers(asked),
            form=params.parse_form(op, req.headers.get("content-type", ""), req.body) if form else {},
        )
        handler = revision.handlers(asked).get(op.operation_id) or HANDLERS[op.operation_id]
        return handler(ctx)

    def _key_of(self, req: SandboxRequest) -> ApiKey | None:
        found = _AUTH.match(req.headers.get("authorization", "").strip())
        return self._keys.get(found.group(1)) if found else None

    def _authenticate(self, req: SandboxRequest) -> ApiKey:
        if not req.headers.get("authorization"):
            raise ApiError(401, "not_authenticated", "Missing Authorization header: use 'Klaviyo-API-Key <key>'.")
        key = self._key_of(req)
        if key is None:
            raise ApiError(
                401,
                "not_authenticated",
                "Incorrect authentication credentials.",
                title="Incorrect authentication credentials.",
            )
        return key

    def _throttled(self, retry_after: float) -> SandboxResponse:
        with self.store.lock:
            self.store.rate_limited += 1
        wait = format_seconds(retry_after, self.config.time_scale)
        error = ApiError(429, "throttled", f"Request was throttled. Expected available in {wait} second(s).")
        response = json_response(429, error.document())
        response.headers.append(("Retry-After", wait))
        return response

    def _record_send_attempt(self, req: SandboxRequest, entry: dict[str, Any]) -> None:
        key = self._key_of(req)
        body = entry["body"]
        data = body.get("data") if isinstance(body, dict) else None
        with self.store.lock:
            self.store.send_job_attempts.append(
                {
                    "time": entry["time"],
                    "account": key.slug if key else None,
                    "campaign_id": data.get("id") if isinstance(data, dict) else None,
                    "body": body,
                }
            )

    def _fault_response(
        self,
        decision: faults_mod.FaultDecision,
        req: SandboxRequest,
        op: spec.Operation,
        path_params: dict[str, str],
        entry: dict[str, Any],
    ) -> SandboxResponse:
        if decision.kind == "drop":
            return SandboxResponse(0, drop="protocol" if decision.variant % 2 else "read")
        if decision.kind == "storm":
            return self._throttled(decision.retry_after * self.config.time_scale)
        if decision.kind == "error":
            status = (500, 502, 503)[decision.variant % 3]
            return json_response(status, ApiError(status, "error", "Injected server error.").document())
        # malformed: a GET may really be served and its body cut short; other requests are not applied
        flavour = decision.variant % 3
        if flavour == 0 and req.method == "GET":
            served = self._serve(req, op, path_params, entry)
            served.body = served.body[: max(1, len(served.body) // 2)]
            return served
        body = b'{"status": "ok", "result": []}' if flavour == 1 else b'{"data": [{"type": "'
        return SandboxResponse(200, [("Content-Type", MEDIA_TYPE)], body)


def _logged_body(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        return None

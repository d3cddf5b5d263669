"""Fixtures for the list and segment tools.

Most tests run against the sandbox (``klaviyo_sandbox``) on a fake clock shared by
the client's pacer, its cache and the sandbox's own rate limiter: rate-limit waits take no
real time, and the sandbox answers 429 if the client ever overshoots a window. A recording
transport in front of the sandbox notes the fake time of every request and can replace the
answer for chosen paths. Exact growth arithmetic uses :class:`EventKlaviyo`, a scripted
Klaviyo whose metric aggregates are computed from a handful of known events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.cache import TTLCache
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.pacing import Pacer
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.helpers import FakeClock, jsonapi, make_settings

ANCHOR = date(2026, 3, 15)  # the sandbox's data ends here; the service's "today"
REST_TOKEN = "rest-token-for-list-tests-01"


@dataclass(frozen=True)
class Call:
    at: float  # fake-clock time the request was sent
    method: str
    path: str
    params: dict[str, str]
    body: Any
    status: int


class Recorder(httpx.BaseTransport):
    """Forwards to another transport, noting each request; ``answers`` overrides chosen paths."""

    def __init__(self, inner: httpx.BaseTransport, clock: FakeClock) -> None:
        self.inner = inner
        self.clock = clock
        self.calls: list[Call] = []
        self.answers: dict[str, Callable[[httpx.Request], httpx.Response]] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.answers.get(request.url.path)
        response = answer(request) if answer else self.inner.handle_request(request)
        body = json.loads(request.content) if request.content else None
        self.calls.append(
            Call(self.clock(), request.method, request.url.path, dict(request.url.params), body, response.status_code)
        )
        return response

    def size_calls(self) -> list[Call]:
        return [c for c in self.calls if any("profile_count" in v for v in c.params.values())]

    def to(self, path: str, method: str = "GET") -> list[Call]:
        return [c for c in self.calls if c.path == path and c.method == method]


@dataclass
class World:
    """A service wired to a recorded transport, on a fake clock."""

    svc: KlaviyoService
    clock: FakeClock
    recorder: Recorder
    progress: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    def ctx(self, seconds: float = 45.0) -> CallContext:
        def progress(done: float, total: float | None, message: str | None) -> None:
            self.progress.append((done, total, message))

        return CallContext(Deadline(seconds, clock=self.clock), progress=progress)


def build_world(
    tmp_path: Path, transport: httpx.BaseTransport, clock: FakeClock, key_env: str, api_key: str, metric: str
) -> World:
    accounts = {"acme": {"api_key_env": key_env, "conversion_metric_id": metric, "label": "Acme"}}
    settings = make_settings(tmp_path, accounts, KLAVIYO_MCP_REST_API_KEY=REST_TOKEN, **{key_env: api_key})
    recorder = Recorder(transport, clock)
    client = KlaviyoClient(
        settings,
        transport=recorder,
        cache=TTLCache(clock=clock),
        pacer=Pacer(clock=clock, sleep=clock.sleep),
        sleep=clock.sleep,
        rand=lambda: 0.5,
    )
    svc = KlaviyoService(settings, load_registry(settings), client, clock=pinned_on(ANCHOR))
    return World(svc, clock, recorder)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Sandbox:
    return Sandbox(SandboxConfig(seed=7, size="small", anchor=ANCHOR, clock=clock))


@pytest.fixture
def world(tmp_path: Path, sandbox: Sandbox, clock: FakeClock) -> World:
    acme = next(a for a in sandbox.accounts if a.slug == "acme")
    return build_world(tmp_path, sandbox.transport, clock, acme.key_env, acme.api_key, acme.conversion_metric_id)


def add_lists(world: World, count: int) -> None:
    """Create lists through the sandbox's own API (create_list), then forget those calls."""
    account = world.svc.account(None)
    for i in range(count):
        body = {"data": {"type": "list", "attributes": {"name": f"Extra list {i:02d}"}}}
        world.svc.client.post(account, "/api/lists", body, deadline=Deadline.unlimited())
    world.recorder.calls.clear()


# -- a scripted Klaviyo whose aggregates come from known events ---------------------------------

GROWTH_METRICS = (
    "Subscribed to List", "Unsubscribed from List",
    "Subscribed to Email Marketing", "Unsubscribed from Email Marketing",
    "Subscribed to SMS Marketing", "Unsubscribed from SMS Marketing",
)  # fmt: skip
_BOUND = re.compile(r"^(greater-or-equal|less-than)\(datetime,(.+)\)$")


@dataclass(frozen=True)
class Event:
    metric: str
    when: datetime
    list_name: str | None = None


@dataclass
class EventKlaviyo:
    """Metrics, lists with sizes, and ``POST /api/metric-aggregates`` summed from ``events``."""

    events: list[Event]
    lists: dict[str, tuple[str, int]]  # id -> (name, profile_count)
    metrics: tuple[str, ...] = GROWTH_METRICS
    failing_metrics: set[str] = field(default_factory=set)

    def metric_id(self, name: str) -> str:
        return "M" + "".join(w[0] for w in name.split())

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/metrics":
            data = [{"type": "metric", "id": self.metric_id(n), "attributes": {"name": n}} for n in self.metrics]
            return jsonapi({"data": data, "links": {"self": "x"}})
        if path == "/api/accounts":
            return jsonapi({"data": [{"type": "account", "id": "A", "attributes": {"timezone": "UTC"}}]})
        if path == "/api/lists":
            data = [{"type": "list", "id": i, "attributes": {"name": n}} for i, (n, _) in self.lists.items()]
            return jsonapi({"data": data, "links": {"self": "x"}})
        if path.startswith("/api/lists/"):
            ident = path.rsplit("/", 1)[-1]
            name, size = self.lists[ident]
            return jsonapi({"data": {"type": "list", "id": ident, "attributes": {"name": name, "profile_count": size}}})
        if path == "/api/metric-aggregates":
            return self.aggregate(json.loads(request.content)["data"]["attributes"])
        return jsonapi({"errors": [{"code": "not_found", "detail": path}]}, status=404)

    def aggregate(self, attributes: dict[str, Any]) -> httpx.Response:
        name = next(n for n in self.metrics if self.metric_id(n) == attributes["metric_id"])
        if name in self.failing_metrics:
            return jsonapi({"errors": [{"code": "error", "detail": "boom"}]}, status=500)
        bounds: dict[str, str] = {}
        for item in attributes["filter"]:
            match = _BOUND.match(item)
            assert match, f"unexpected filter {item!r}"
            bounds[match[1]] = match[2]
        start = datetime.fromisoformat(bounds["greater-or-equal"])
        end = datetime.fromisoformat(bounds["less-than"])
        assert (end - start).days <= 366, "Klaviyo refuses aggregates over more than a year"
        by = attributes.get("by") or []
        rows: dict[tuple[str, ...], int] = {}
        for event in self.events:
            if event.metric == name and start <= event.when < end:
                key = (event.list_name or "",) if by else ()
                rows[key] = rows.get(key, 0) + 1
        # Two buckets per row, so summing across buckets matters.
        data = [{"dimensions": list(k), "measurements": {"count": [v - v // 2, v // 2]}} for k, v in rows.items()]
        if not by and not data:
            data = [{"dimensions": [], "measurements": {"count": [0, 0]}}]
        dates = [start.isoformat(), end.isoformat()]
        return jsonapi({"data": {"type": "metric-aggregate", "id": "e", "attributes": {"dates": dates, "data": data}}})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


def event_world(tmp_path: Path, clock: FakeClock, fake: EventKlaviyo) -> World:
    return build_world(tmp_path, fake.transport, clock, "KLAVIYO_ACME_KEY", "pk_test_acme_0123456789", "PLACED")

"""Fault injection: 5xx, 429 storms, latency, dropped connections, malformed bodies, applied errors."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from klaviyo_sandbox import FaultConfig, Sandbox, SandboxConfig
from klaviyo_sandbox.faults import FaultInjector

from .conftest import ACME_KEY, ANCHOR, BASE, REVISION
from .helpers import MEDIA

HEADERS = {"Authorization": f"Klaviyo-API-Key {ACME_KEY}", "revision": REVISION}


def _raw(sb: Sandbox) -> httpx.Client:
    """Faults break documents on purpose, so these clients skip the spec checks."""
    return httpx.Client(transport=sb.transport, base_url=BASE, headers=HEADERS)


def _faulty(**fields: object) -> Sandbox:
    return Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=1e-6, faults=FaultConfig(**fields)))  # type: ignore[arg-type]


def test_parse_spec_string() -> None:
    config = FaultConfig.parse(
        "error_rate=0.1,storm=0.05,latency=0.1:2.5,drop=0.05,malformed=0.05,applied_error=0.1,seed=3,only=POST|patch,"
        "paths=/api/lists|/api/campaigns,storm_length=4"
    )
    assert (config.error_rate, config.storm, config.latency, config.latency_seconds) == (0.1, 0.05, 0.1, 2.5)
    assert (config.drop, config.malformed, config.applied_error, config.seed) == (0.05, 0.05, 0.1, 3)
    assert config.only_methods == frozenset({"POST", "PATCH"})
    assert config.only_paths == ("/api/lists", "/api/campaigns")
    assert config.storm_length == 4
    assert FaultConfig.from_dict(config.to_dict()) == config
    assert FaultConfig.from_dict({"only": "GET", "paths": "/api/lists", "drop": 0.5}).only_methods == {"GET"}


@pytest.mark.parametrize("spec", ["error_rate=2", "volcano=0.1", "drop", "storm_length=0", "latency=x"])
def test_bad_spec_strings_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        FaultConfig.parse(spec)


def test_error_rate_answers_5xx_without_applying() -> None:
    sb = _faulty(error_rate=1.0)
    client = _raw(sb)
    response = client.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "x"}}})
    assert response.status_code in (500, 502, 503)
    assert response.json()["errors"][0]["status"] == response.status_code
    assert sb.state()["accounts"]["acme"]["lists"] == []
    assert sb.log()[-1]["fault"] == "error"


def test_storm_is_a_run_of_429s_with_retry_after() -> None:
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, faults=FaultConfig(storm=1.0, storm_length=3, seed=1)))
    client = _raw(sb)
    responses = [client.get("/api/lists") for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 429]
    assert all(r.headers["Retry-After"] == "1" for r in responses)
    assert sb.state()["rate_limited"] == 3
    sb.set_faults(None)
    assert client.get("/api/lists").status_code == 200


def test_storms_last_exactly_storm_length_requests() -> None:
    injector = FaultInjector(FaultConfig(storm=0.2, storm_length=3, seed=5))
    runs = "".join("x" if injector.decide("GET", "/api/lists").kind == "storm" else "." for _ in range(300))
    lengths = [len(run) for run in runs.rstrip("x").split(".") if run]
    assert lengths and all(n % 3 == 0 for n in lengths)  # back-to-back storms are whole storms too
    assert 3 in lengths


def test_dropped_connections_raise_transport_errors() -> None:
    sb = _faulty(drop=1.0)
    client = _raw(sb)
    seen: set[type[Exception]] = set()
    for _ in range(8):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)) as caught:
            client.get("/api/lists")
        seen.add(type(caught.value))
    assert seen == {httpx.RemoteProtocolError, httpx.ReadError}
    assert sb.log()[-1]["status"] is None


def test_malformed_bodies_are_not_jsonapi() -> None:
    sb = _faulty(malformed=1.0, seed=2)
    client = _raw(sb)
    broken = 0
    for _ in range(12):
        response = client.get("/api/lists")
        assert response.status_code == 200
        try:
            doc = json.loads(response.content)
        except ValueError:
            broken += 1
            continue
        assert "data" not in doc or not isinstance(doc.get("links"), dict)
    assert broken > 0
    response = client.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "x"}}})
    assert response.status_code == 200
    assert sb.state()["accounts"]["acme"]["lists"] == []


def test_applied_error_applies_the_write_then_answers_500() -> None:
    sb = _faulty(applied_error=1.0)
    client = _raw(sb)
    response = client.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Applied"}}})
    assert response.status_code == 500
    [created] = sb.state()["accounts"]["acme"]["lists"]
    sb.set_faults(None)
    assert client.get(f"/api/lists/{created['id']}").status_code == 200


def test_latency_delays_the_answer() -> None:
    sb = _faulty(latency=1.0, latency_seconds=0.15)
    started = time.monotonic()
    assert _raw(sb).get("/api/accounts").status_code == 200
    assert time.monotonic() - started >= 0.15


def test_faults_can_be_limited_to_methods_and_paths() -> None:
    sb = _faulty(error_rate=1.0, only_methods=frozenset({"POST"}), only_paths=("/api/lists",))
    client = _raw(sb)
    assert client.get("/api/lists").status_code == 200
    assert (
        client.post("/api/profiles", json={"data": {"type": "profile", "attributes": {"email": "a@b.c"}}}).status_code
        == 201
    )
    assert client.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "x"}}}).status_code >= 500


def test_faults_never_touch_control_routes_and_are_deterministic() -> None:
    config = FaultConfig(error_rate=0.5, drop=0.2, malformed=0.1, seed=11)
    first, second = FaultInjector(config), FaultInjector(config)
    kinds = [first.decide("GET", "/api/lists").kind for _ in range(50)]
    assert kinds == [second.decide("GET", "/api/lists").kind for _ in range(50)]
    assert {"error", "drop", None} <= set(kinds)
    assert first.decide("GET", "/__sandbox/log").kind is None
    sb = _faulty(error_rate=1.0)
    assert _raw(sb).get("/__sandbox/state").status_code == 200
    replay = _faulty(error_rate=0.5, seed=4)
    before = [_raw(replay).get("/api/lists").status_code for _ in range(12)]
    replay.reset()
    assert [_raw(replay).get("/api/lists").status_code for _ in range(12)] == before


def test_faults_via_the_control_route(sandbox: Sandbox) -> None:
    client = _raw(sandbox)
    set_ = client.post("/__sandbox/faults", json={"error_rate": 1.0, "only": ["GET"]})
    assert set_.status_code == 200
    assert set_.json()["faults"]["error_rate"] == 1.0
    assert client.get("/api/lists").status_code >= 500
    assert client.post("/__sandbox/faults", content=b"{}").json() == {"faults": None}
    assert client.get("/api/lists").status_code == 200
    bad = client.post("/__sandbox/faults", json={"volcano": 1})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == MEDIA

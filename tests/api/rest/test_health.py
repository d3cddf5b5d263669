"""/health: public, per-component, 200 ok or 503 degraded, and nothing private in it."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask

from api import create_app
from klaviyo_analytics.service import KlaviyoService
from tests.api.rest.conftest import APPROVER_TOKEN, AUTH
from tests.helpers import ACME_KEY, GLOBEX_KEY


def test_healthy_components_are_200_ok(app: Flask, service: KlaviyoService) -> None:
    response = app.test_client().get("/health")  # no token
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["status"] == "ok" and body["version"]
    # Public: each component's status and nothing else (no proposal counts, backends or user counts).
    assert body["components"] == {name: {"status": "ok"} for name in ("ledger", "accounts", "quota", "auth")}
    text = response.get_data(as_text=True)
    for private in (str(service.settings.resolved_ledger_path), "acme", "globex", ACME_KEY, GLOBEX_KEY, "proposals"):
        assert private not in text
    assert app.test_client().get("/health/details", headers=AUTH).status_code == 403  # a read token: no details
    approver = {"Authorization": f"Bearer {APPROVER_TOKEN}"}
    detailed = app.test_client().get("/health/details", headers=approver).json
    ledger, accounts = detailed["components"]["ledger"], detailed["components"]["accounts"]
    assert ledger["status"] == "ok" and ledger["journal_mode"] == "wal" and ledger["proposals"]["pending"] == 0
    assert accounts == {"status": "ok", "count": 2}
    assert detailed["components"]["quota"] == {"status": "ok", "backend": "sqlite", "degraded": False}
    assert app.test_client().get("/health/details").status_code == 401


class BrokenLedger:
    def ledger_health(self) -> dict[str, Any]:
        raise sqlite3.OperationalError("unable to open database file /srv/secret/ledger.sqlite3")


def test_an_unreadable_ledger_is_503_degraded_without_internals(service: KlaviyoService) -> None:
    service._ledger = BrokenLedger()  # type: ignore[assignment]
    response = create_app(service=service).test_client().get("/health")
    assert response.status_code == 503
    assert response.json["status"] == "degraded"
    assert response.json["components"]["ledger"]["status"] == "unavailable"
    assert response.json["components"]["accounts"]["status"] == "ok"
    text = response.get_data(as_text=True)
    assert "/srv/secret" not in text and "OperationalError" not in text


def test_a_broken_account_registry_is_503(service: KlaviyoService) -> None:
    app = create_app(service=service)
    service.registry = None  # type: ignore[assignment]
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["components"]["accounts"]["status"] == "unavailable"
    assert response.json["components"]["ledger"]["status"] == "ok"


class DownStore:
    backend = "sqlite"

    def ping(self) -> None:
        from klaviyo_analytics.quota import StoreUnavailable

        raise StoreUnavailable("the quota file cannot be used (OperationalError: disk I/O error)")


def test_a_quota_store_that_stops_answering_is_503_with_the_safe_pace_named(service: KlaviyoService) -> None:
    from klaviyo_analytics.quota import GuardedStore

    store = service.client.store
    assert isinstance(store, GuardedStore)
    store.primary = DownStore()  # type: ignore[assignment]
    app = create_app(service=service)
    response = app.test_client().get("/health")
    assert response.status_code == 503
    quota = response.json["components"]["quota"]
    assert (
        quota["status"] == "unavailable"
        and "KLAVIYO_MCP_QUOTA_STORE" in quota["message"]
        and "disk I/O" not in quota["message"]
    )
    approver = {"Authorization": f"Bearer {APPROVER_TOKEN}"}
    detailed = app.test_client().get("/health/details", headers=approver).json["components"]["quota"]
    assert detailed["degraded"] is True and detailed["backend"] == "sqlite"
    assert store.degraded  # the probe that found it down switched this process to the safe pace


class CountingLedger:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads = 0

    def ledger_health(self) -> dict[str, Any]:
        self.reads += 1
        return dict(self.inner.ledger_health())


def test_a_flood_of_probes_reads_the_ledger_once_a_second(service: KlaviyoService) -> None:
    ledger = CountingLedger(service.ledger)
    service._ledger = ledger  # type: ignore[assignment]
    app = create_app(service=service)
    now = [100.0]
    app.extensions["klaviyo_health"].clock = lambda: now[0]
    client = app.test_client()
    bodies = [client.get("/health").get_data() for _ in range(50)]
    assert ledger.reads == 1 and len(set(bodies)) == 1
    now[0] += 1.0  # the report is a second old: the next probe builds a new one
    assert client.get("/health").status_code == 200
    assert ledger.reads == 2

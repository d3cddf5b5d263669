"""The REST adapter: auth, one error shape, routes from the catalog."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

from api import create_app
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.service import KlaviyoService
from klaviyo_analytics.tools import CATALOG
from tests.adapters.conftest import REST_TOKEN
from tests.helpers import make_settings


def test_health_needs_no_auth(app: Flask) -> None:
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_missing_credential_is_401_and_wrong_is_403(app: Flask) -> None:
    client = app.test_client()
    missing = client.get("/v1/accounts")
    assert missing.status_code == 401
    assert missing.json["error"]["code"] == "UNAUTHENTICATED"
    wrong = client.get("/v1/accounts", headers={"X-API-Key": "not-the-token"})
    assert wrong.status_code == 403
    assert wrong.json["error"]["code"] == "FORBIDDEN"
    assert "not-the-token" not in wrong.get_data(as_text=True)


def test_bearer_and_x_api_key_both_work(app: Flask) -> None:
    client = app.test_client()
    for headers in ({"Authorization": f"Bearer {REST_TOKEN}"}, {"X-API-Key": REST_TOKEN}):
        response = client.get("/v1/accounts", headers=headers)
        assert response.status_code == 200
        assert [a["name"] for a in response.json["data"]["accounts"]] == ["acme", "globex"]


def test_refuses_to_start_without_a_credential(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app(make_settings(tmp_path))
    assert caught.value.details["variable"] == "KLAVIYO_MCP_REST_API_KEY"


def test_tools_route_lists_the_catalog(app: Flask, auth: dict[str, str]) -> None:
    listed = app.test_client().get("/v1/tools", headers=auth).json["tools"]
    assert [t["name"] for t in listed] == [s.name for s in CATALOG]
    assert {(t["method"], t["path"]) for t in listed} == {(s.method, s.path) for s in CATALOG}
    routes = {(m, rule.rule) for rule in app.url_map.iter_rules() for m in rule.methods or () if m in {"GET", "POST"}}
    assert {(s.method, s.path) for s in CATALOG} <= routes


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        ({"account": "acme", "timeframe": "last_30_days", "colour": "red"}, "colour", "unknown field"),
        ({"account": "acme", "start_date": "2026-13-01", "end_date": "2026-12-31"}, "start_date", "YYYY-MM-DD"),
        ({"account": "acme", "start_date": "2026-02-01", "end_date": "2026-01-01"}, "end_date", "before"),
        (
            {"account": "acme", "timeframe": "today", "start_date": "2026-01-01", "end_date": "2026-01-02"},
            "timeframe",
            "not both",
        ),
        ({"account": "acme", "timeframe": "fortnight"}, "timeframe", "last_30_days"),
        ({"account": "acme"}, "timeframe", "window is required"),
        ({"timeframe": "today"}, "account", "acme, globex"),
        ({"account": "Not A Slug!", "timeframe": "today"}, "account", "lowercase letters"),
        ({"account": "acme", "timeframe": "today", "campaign": "../../x"}, "campaign", "letters and digits"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    app: Flask, auth: dict[str, str], body: dict, field: str, needle: str
) -> None:  # type: ignore[type-arg]
    response = app.test_client().post("/v1/campaigns/performance", json=body, headers=auth)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "INVALID_ARGUMENT"
    assert error["details"]["field"] == field
    assert needle in error["message"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_unknown_account_is_404_listing_names(app: Flask, auth: dict[str, str]) -> None:
    response = app.test_client().post(
        "/v1/campaigns/performance", json={"account": "initech", "timeframe": "today"}, headers=auth
    )
    assert response.status_code == 404
    assert response.json["error"]["code"] == "UNKNOWN_ACCOUNT"
    assert response.json["error"]["details"]["available_accounts"] == ["acme", "globex"]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "not json", "content_type": "application/json"}, 400, "INVALID_ARGUMENT"),
        ({"data": "[1, 2]", "content_type": "application/json"}, 400, "INVALID_ARGUMENT"),
        ({"data": "a=b", "content_type": "application/x-www-form-urlencoded"}, 400, "INVALID_ARGUMENT"),
        ({"data": b"\xff\xfe", "content_type": "application/json"}, 400, "INVALID_ARGUMENT"),
        ({"data": "x" * 300_000, "content_type": "application/json"}, 413, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_malformed_bodies(app: Flask, auth: dict[str, str], kwargs: dict, status: int, code: str) -> None:  # type: ignore[type-arg]
    response = app.test_client().post("/v1/campaigns/performance", headers=auth, **kwargs)
    assert response.status_code == status
    assert response.json["error"]["code"] == code


def test_wrong_method_and_unknown_route_keep_the_error_shape(app: Flask, auth: dict[str, str]) -> None:
    client = app.test_client()
    assert client.get("/v1/campaigns/performance", headers=auth).json["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert client.get("/v1/nope", headers=auth).json["error"]["code"] == "NOT_FOUND"


def test_unexpected_errors_are_500_without_internals(service: KlaviyoService, auth: dict[str, str]) -> None:
    service.registry = None  # type: ignore[assignment]  # any handler touching accounts now crashes
    app = create_app(service=service)
    response = app.test_client().get("/v1/accounts", headers=auth)
    assert response.status_code == 500
    assert response.json["error"]["code"] == "INTERNAL_ERROR"
    assert "Traceback" not in response.get_data(as_text=True)
    assert "registry" not in response.get_data(as_text=True)


def test_an_unexpected_error_logs_its_traceback_to_stderr(
    service: KlaviyoService, auth: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    service.registry = None  # type: ignore[assignment]
    app = create_app(service=service)
    capsys.readouterr()
    assert app.test_client().get("/v1/accounts", headers=auth).status_code == 500
    captured = capsys.readouterr()
    crash = [json.loads(line) for line in captured.err.splitlines() if '"tool.crash"' in line]
    assert len(crash) == 1 and "Traceback (most recent call last)" in crash[0]["exception"]
    assert "AttributeError" in crash[0]["exception"] and "Traceback" not in captured.out


def test_read_only_keeps_read_routes(service: KlaviyoService, auth: dict[str, str]) -> None:
    service.settings = replace(service.settings, read_only=True)
    app = create_app(service=service)
    assert app.test_client().get("/v1/accounts", headers=auth).status_code == 200

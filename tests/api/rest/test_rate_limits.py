"""REST rate limiting: per token, headers, 429 in the error shape, exemptions, shared storage."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from limits.storage import MemoryStorage

from api import create_app
from klaviyo_analytics.config import load_settings
from klaviyo_analytics.errors import ConfigError
from tests.api.rest.conftest import AUTH, OTHER_TOKEN, MakeService
from tests.helpers import jsonapi

LIMIT = "3/minute"


@pytest.fixture
def limited(make_service: MakeService) -> Flask:
    return create_app(service=make_service(KLAVIYO_MCP_REST_RATE_LIMIT=LIMIT))


def test_each_token_gets_the_limit_then_429_rate_limited(limited: Flask) -> None:
    client = limited.test_client()
    answers = [client.get("/v1/accounts", headers=AUTH) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers[:3]] == ["2", "1", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "3" and int(r.headers["X-RateLimit-Reset"]) > 0 for r in answers)
    refused = answers[3]
    assert refused.json == {"error": {"code": "RATE_LIMITED", "message": refused.json["error"]["message"],
                                      "details": refused.json["error"]["details"]}}  # fmt: skip
    retry = int(refused.headers["Retry-After"])
    assert 1 <= retry <= 61
    assert refused.json["error"]["details"]["retry_after_seconds"] == retry
    assert "3 per 1 minute" in refused.json["error"]["message"]
    # Another token has its own allowance.
    assert client.get("/v1/accounts", headers={"X-API-Key": OTHER_TOKEN}).status_code == 200


def test_bearer_and_x_api_key_are_the_same_caller(limited: Flask) -> None:
    client = limited.test_client()
    token = AUTH["Authorization"].split()[1]
    for headers in (AUTH, {"X-API-Key": token}, AUTH):
        assert client.get("/v1/accounts", headers=headers).status_code == 200
    assert client.get("/v1/accounts", headers={"X-API-Key": token}).status_code == 429


def test_retry_after_only_on_429(limited: Flask) -> None:
    ok = limited.test_client().get("/v1/accounts", headers=AUTH)
    assert ok.status_code == 200 and "Retry-After" not in ok.headers
    assert "X-Limiter-Retry-After" not in ok.headers  # the limiter's own stamp never leaves


def test_health_and_openapi_are_never_limited(limited: Flask) -> None:
    client = limited.test_client()
    for _ in range(10):
        for path in ("/health", "/openapi.json"):
            response = client.get(path)
            assert response.status_code == 200
            assert "X-RateLimit-Limit" not in response.headers


def test_requests_without_a_valid_token_count_per_address(limited: Flask) -> None:
    client = limited.test_client()
    statuses = [client.get("/v1/accounts", headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(4)]
    assert statuses == [403, 403, 403, 429]
    assert client.get("/v1/accounts").status_code == 429  # no token at all: the same address bucket
    assert client.get("/v1/accounts", headers=AUTH).status_code == 200  # the real token is not starved


def test_a_klaviyo_429_keeps_its_own_retry_after(make_service: MakeService, fake: Any) -> None:
    fake.route("GET", "/api/flows", lambda _r: jsonapi({"errors": [{"code": "throttled"}]}, 429, {"Retry-After": "2"}))
    app = create_app(service=make_service(KLAVIYO_MCP_REST_RATE_LIMIT=LIMIT, KLAVIYO_MAX_RETRIES="0"))
    response = app.test_client().get("/v1/flows?account=acme", headers=AUTH)
    assert response.status_code == 429
    assert response.json["error"]["code"] == "RATE_LIMITED"
    assert response.headers["Retry-After"] == "2"  # not stretched to the REST window's reset


class SharedStore(MemoryStorage):
    """One store for every app that names it: stands in for Redis shared by several gunicorn workers."""

    STORAGE_SCHEME = "sharedtest"
    instance: SharedStore | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> SharedStore:
        if cls.instance is None:
            cls.instance = super().__new__(cls)
            MemoryStorage.__init__(cls.instance, *args, **kwargs)
        return cls.instance

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # initialised once, in __new__


def test_workers_sharing_a_store_share_the_limit(make_service: MakeService) -> None:
    separate = [create_app(service=make_service(KLAVIYO_MCP_REST_RATE_LIMIT=LIMIT)) for _ in range(2)]
    assert [a.test_client().get("/v1/accounts", headers=AUTH).status_code for a in separate * 2] == [200] * 4
    shared = [
        create_app(
            service=make_service(KLAVIYO_MCP_REST_RATE_LIMIT=LIMIT, KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE="sharedtest://")
        )
        for _ in range(2)
    ]
    statuses = [a.test_client().get("/v1/accounts", headers=AUTH).status_code for a in shared * 2]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.parametrize(
    ("name", "value"),
    [("KLAVIYO_MCP_REST_RATE_LIMIT", "lots"), ("KLAVIYO_MCP_REST_RATE_LIMIT", "120/fortnight"), ("KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE", "localhost:6379"),
     ("KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE", "async+redis://x")],
)  # fmt: skip
def test_bad_limit_settings_fail_fast_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value}, use_dotenv=False)
    assert caught.value.details["variable"] == name


def test_limits_are_configurable(make_service: MakeService) -> None:
    app = create_app(service=make_service(KLAVIYO_MCP_REST_RATE_LIMIT="1/second;5/minute"))
    assert app.test_client().get("/v1/accounts", headers=AUTH).headers["X-RateLimit-Limit"] == "1"
    assert load_settings({}, use_dotenv=False).rest_rate_limit == "120/minute"


def test_an_unusable_store_fails_at_start_naming_the_variable(make_service: MakeService) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app(service=make_service(KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE="redis://127.0.0.1:1/0"))
    assert caught.value.details["variable"] == "KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE"


def test_local_windows_count_per_key_and_start_over_when_a_window_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    from api import limits

    now = [1000.0]
    windows = limits.LocalWindows(clock=lambda: now[0])
    assert [windows.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert windows.incr("b", 60) == 1  # another caller, another window
    assert windows.get_expiry("a") == 1060.0
    now[0] = 1060.0  # the window is over: counting starts again, with a new reset
    assert windows.incr("a", 60) == 1 and windows.get_expiry("a") == 1120.0
    monkeypatch.setattr(limits, "LOCAL_WINDOWS_PURGE_AT", 2)
    now[0] = 2000.0
    windows.incr("c", 60)  # at the cap: the ended windows of a and b are dropped, not kept forever
    assert windows.get_expiry("b") == 2000.0  # no window: reset is now


def test_memory_limits_are_counted_in_local_windows_not_a_timer_threaded_store(make_service: MakeService) -> None:
    from api.limits import LocalWindows

    app = create_app(service=make_service(KLAVIYO_MCP_REST_RATE_LIMIT="1000/minute"))
    assert isinstance(app.extensions["klaviyo_limiter"].storage, LocalWindows)
    shared = create_app(
        service=make_service(
            KLAVIYO_MCP_REST_RATE_LIMIT="1000/minute", KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE="sharedtest://"
        )
    )
    assert isinstance(shared.extensions["klaviyo_limiter"].storage, SharedStore)

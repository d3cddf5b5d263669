"""The REST adapter's own tests: an app over a scripted Klaviyo, and a live gunicorn over the sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask

from api import create_app
from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.service import KlaviyoService
from tests.api.rest.live import LiveAPI, live_api_server
from tests.helpers import TWO_ACCOUNTS, FakeKlaviyo, jsonapi, make_settings

REST_TOKEN = "rest-token-for-rest-tests-01"
OTHER_TOKEN = "rest-token-for-rest-tests-02"
APPROVER_TOKEN = "approver-token-for-rest-tests-01"
AUTH = {"Authorization": f"Bearer {REST_TOKEN}"}

MakeService = Callable[..., KlaviyoService]


@pytest.fixture
def fake() -> FakeKlaviyo:
    fake = FakeKlaviyo()
    flows = {"data": [{"type": "flow", "id": "F1", "attributes": {"name": "Welcome", "status": "live"}}], "links": {}}
    fake.route("GET", "/api/flows", lambda _r: jsonapi(flows))
    return fake


@pytest.fixture
def make_service(tmp_path: Path, fake: FakeKlaviyo) -> MakeService:
    """A service over the scripted Klaviyo; keyword arguments are extra settings (env names)."""

    def build(**env: str) -> KlaviyoService:
        settings = make_settings(
            tmp_path,
            TWO_ACCOUNTS,
            KLAVIYO_MCP_REST_API_KEY=REST_TOKEN,
            KLAVIYO_MCP_REST_API_TOKENS=OTHER_TOKEN,
            KLAVIYO_MCP_APPROVER_TOKENS=APPROVER_TOKEN,
            **env,
        )
        client = KlaviyoClient(settings, transport=fake.transport)
        return KlaviyoService(settings, load_registry(settings), client, clock=pinned_on(date(2026, 3, 15)))

    return build


@pytest.fixture
def service(make_service: MakeService) -> KlaviyoService:
    return make_service()


@pytest.fixture
def app(service: KlaviyoService) -> Flask:
    return create_app(service=service)


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAPI]:
    with live_api_server(tmp_path_factory.mktemp("live")) as live:
        yield live

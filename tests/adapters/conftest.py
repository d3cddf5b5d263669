from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask

from api import create_app
from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.service import KlaviyoService
from tests.helpers import TWO_ACCOUNTS, FakeKlaviyo, jsonapi, make_settings
from tests.service.test_campaign_performance import STATS_A, campaigns_handler, report, row

REST_TOKEN = "rest-token-for-tests-0001"
APPROVER_TOKEN = "approver-token-for-tests-0001"


@pytest.fixture
def fake() -> FakeKlaviyo:
    fake = FakeKlaviyo()
    fake.route(
        "POST", "/api/campaign-values-reports", lambda r: jsonapi(report([row("C1", "M1", "email", "A", STATS_A)]))
    )
    fake.route("GET", "/api/campaigns", campaigns_handler)
    return fake


@pytest.fixture
def service(tmp_path: Path, fake: FakeKlaviyo) -> KlaviyoService:
    settings = make_settings(
        tmp_path, TWO_ACCOUNTS, KLAVIYO_MCP_REST_API_KEY=REST_TOKEN, KLAVIYO_MCP_APPROVER_TOKENS=APPROVER_TOKEN
    )
    client = KlaviyoClient(settings, transport=fake.transport)
    return KlaviyoService(settings, load_registry(settings), client, clock=pinned_on(date(2026, 3, 15)))


@pytest.fixture
def app(service: KlaviyoService) -> Flask:
    return create_app(service=service)


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {REST_TOKEN}"}

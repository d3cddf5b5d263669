"""A PostgreSQL outage is 503 ``UNAVAILABLE`` on every adapter, naming no user, host, port or database."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from api import create_app
from klaviyo_analytics.actions.postgres_ledger import PostgresDatabase, PostgresLedger
from tests.actions.action_env import REST_TOKEN, Env
from tests.adapters.mcp_http.inprocess import call, http_app
from tests.reliability.harness import free_port


@pytest.fixture
def backend() -> str:
    return "postgres"


def test_a_postgresql_outage_is_503_unavailable_without_connection_details(env: Env) -> None:
    action_id = env.propose("create_list", name="VIP")
    ledger = env.service.ledger
    assert isinstance(ledger, PostgresLedger) and isinstance(ledger.db, PostgresDatabase)
    database = ledger.db
    rest = create_app(service=env.service).test_client()
    mcp = http_app(env.service)
    live = urlsplit(database.url)
    details = [live.username, live.hostname, str(live.port), live.path.lstrip("/")]
    database.url = database.url.replace(f":{live.port}/", f":{free_port()}/")  # the database went away

    error = env.error("klaviyo_get_action", action_id=action_id)  # stdio runs this same path
    assert (error.code, error.http_status) == ("UNAVAILABLE", 503)
    answer = rest.get(f"/v1/actions/{action_id}", headers={"Authorization": f"Bearer {REST_TOKEN}"})
    assert answer.status_code == 503 and answer.json["error"]["code"] == "UNAVAILABLE"
    result = asyncio.run(call(mcp, REST_TOKEN, "klaviyo_get_action", {"action_id": action_id}))
    assert result.is_error and result.structured_content["error"]["code"] == "UNAVAILABLE"
    for text in (error.message, str(error.to_dict()), answer.get_data(as_text=True), str(result.structured_content)):
        assert not [d for d in details if d and d in text], text

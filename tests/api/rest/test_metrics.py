"""/metrics: Prometheus text, token required, fed by the runner (REST and MCP), the client and the ledger."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import anyio
from flask import Flask
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families

import server
from api import create_app
from klaviyo_analytics.adapters import prometheus
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.schemas.accounts import ListAccountsResult
from klaviyo_analytics.service import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.tools import get_tool, run_tool
from tests.api.rest.conftest import APPROVER_TOKEN, AUTH, OTHER_TOKEN, MakeService
from tests.helpers import FakeKlaviyo, jsonapi


def scrape(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.test_client().get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_a_token_any_valid_one(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"X-API-Key": "nope"}).status_code == 403
    for token in (OTHER_TOKEN, APPROVER_TOKEN):
        assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_rest_tool_calls_are_counted_and_timed_by_outcome(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/v1/flows?account=acme", headers=AUTH).status_code == 200
    assert client.get("/v1/flows?account=initech", headers=AUTH).status_code == 404
    samples = scrape(app)
    tool = {"tool": "klaviyo_get_flows", "transport": "rest"}
    assert value(samples, "klaviyo_tool_calls_total", outcome="ok", **tool) == 1
    assert value(samples, "klaviyo_tool_calls_total", outcome="UNKNOWN_ACCOUNT", **tool) == 1
    assert value(samples, "klaviyo_tool_duration_seconds_count", **tool) == 2
    assert value(samples, "klaviyo_tool_duration_seconds_bucket", le="+Inf", **tool) == 2


def test_mcp_tool_calls_count_under_their_own_transport(service: KlaviyoService, app: Flask) -> None:
    async def call() -> None:
        async with Client(server.build_server(service=service)) as client:
            await client.call_tool("klaviyo_list_accounts", {})

    anyio.run(call)
    samples = scrape(app)
    assert value(samples, "klaviyo_tool_calls_total", tool="klaviyo_list_accounts", transport="mcp", outcome="ok") == 1
    assert value(samples, "klaviyo_tool_calls_total", tool="klaviyo_list_accounts", transport="rest", outcome="ok") == 0


def test_upstream_calls_cache_and_429s_by_endpoint_class(make_service: MakeService, fake: FakeKlaviyo) -> None:
    app = create_app(service=make_service(KLAVIYO_MAX_RETRIES="0"))
    client = app.test_client()
    for _ in range(2):  # the second is answered from the cache
        assert client.get("/v1/flows?account=acme", headers=AUTH).status_code == 200
    fake.route(
        "GET", "/api/campaigns", lambda _r: jsonapi({"errors": [{"code": "throttled"}]}, 429, {"Retry-After": "1"})
    )
    assert client.get("/v1/campaigns?account=acme", headers=AUTH).status_code == 429
    samples = scrape(app)
    assert value(samples, "klaviyo_upstream_calls_total", rate_class="S", operation="get_flows", status="2xx") == 1
    assert value(samples, "klaviyo_upstream_calls_total", rate_class="M", operation="get_campaigns", status="429") >= 1
    assert value(samples, "klaviyo_upstream_rate_limited_total", rate_class="M", operation="get_campaigns") >= 1
    assert value(samples, "klaviyo_upstream_duration_seconds_count", rate_class="S") == 1
    assert value(samples, "klaviyo_cache_hits_total") >= 1
    assert value(samples, "klaviyo_cache_misses_total") >= 2


def test_pacing_wait_is_exported(service: KlaviyoService, app: Flask) -> None:
    service.client.pacer.total_wait_seconds = 1.25
    assert value(scrape(app), "klaviyo_pacing_wait_seconds_total") == 1.25


def test_deadline_partials_are_counted(service: KlaviyoService, app: Flask) -> None:
    def partial(_service: KlaviyoService, _params: Any, _ctx: CallContext) -> ToolResult[Any]:
        return ToolResult(data=ListAccountsResult(accounts=[]), extra_metadata={"partial": True})

    spec = replace(get_tool("klaviyo_list_accounts"), handler=partial)
    payload = run_tool(spec, service, {}, CallContext(deadline=Deadline(5), caller="mcp"))
    assert payload["metadata"]["partial"] is True
    samples = scrape(app)
    assert value(samples, "klaviyo_tool_partial_results_total", tool="klaviyo_list_accounts", transport="mcp") == 1


def test_ledger_proposals_by_status(service: KlaviyoService, app: Flask) -> None:
    service.ledger.create_proposal("acme", "create_list", {}, [{"step_id": "s1"}], "Create a list", [], "tester")
    samples = scrape(app)
    assert value(samples, "klaviyo_ledger_up") == 1
    assert value(samples, "klaviyo_ledger_proposals", status="pending") == 1
    assert value(samples, "klaviyo_ledger_proposals", status="approved") == 0


class BrokenLedger:
    def ledger_health(self) -> dict[str, Any]:
        raise OSError("disk I/O error")


def test_a_broken_ledger_does_not_break_the_scrape(service: KlaviyoService, app: Flask) -> None:
    service._ledger = BrokenLedger()  # type: ignore[assignment]
    samples = scrape(app)
    assert value(samples, "klaviyo_ledger_up") == 0
    assert ("klaviyo_cache_hits_total", ()) in samples


def test_each_app_has_its_own_registry(make_service: MakeService) -> None:
    first, second = create_app(service=make_service()), create_app(service=make_service())
    first.test_client().get("/v1/accounts", headers=AUTH)
    ok = {"tool": "klaviyo_list_accounts", "transport": "rest", "outcome": "ok"}
    assert value(scrape(first), "klaviyo_tool_calls_total", **ok) == 1
    assert value(scrape(second), "klaviyo_tool_calls_total", **ok) == 0


def test_a_service_bound_twice_counts_each_call_once(service: KlaviyoService) -> None:
    old, new = create_app(service=service), create_app(service=service)
    new.test_client().get("/v1/flows?account=acme", headers=AUTH)
    flows = {"rate_class": "S", "operation": "get_flows", "status": "2xx"}
    assert value(scrape(new), "klaviyo_upstream_calls_total", **flows) == 1
    assert value(scrape(old), "klaviyo_upstream_calls_total", **flows) == 0
    assert service.client.observers.count(prometheus.metrics_for(service).observe_call) == 1  # type: ignore[union-attr]


def test_transport_names() -> None:
    assert prometheus.transport_of("token:abc123") == "rest"
    assert prometheus.transport_of("mcp") == "mcp"
    assert prometheus.transport_of("local") == "local"
    assert prometheus.transport_of("something else") == "other"


class CountingLedger:
    def ledger_health(self) -> dict[str, Any]:
        return {"proposals": {"pending": 2}, "stale_leases": 1, "transitions": {"approved": 3, "succeeded": 1}}


def test_ledger_transitions_are_exported_when_the_ledger_counts_them(service: KlaviyoService, app: Flask) -> None:
    service._ledger = CountingLedger()  # type: ignore[assignment]
    samples = scrape(app)
    assert value(samples, "klaviyo_ledger_transitions_total", to_status="approved") == 3
    assert value(samples, "klaviyo_ledger_stale_leases") == 1
    assert value(samples, "klaviyo_ledger_proposals", status="pending") == 2

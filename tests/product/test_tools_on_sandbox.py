"""Every read tool against the sandbox: spec-valid traffic, identical MCP and REST payloads,
reports that reconcile with metric aggregates, and no 429s at the published limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

import server
from api import create_app
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.tools import CATALOG, get_tool, run_tool
from klaviyo_sandbox import Sandbox
from tests.product.conftest import REST_TOKEN, sandbox_service

# Arguments for every read tool; a read tool added to the catalog must be added here.
READ_CALLS: dict[str, dict[str, Any]] = {
    "klaviyo_list_accounts": {},
    "klaviyo_get_campaign_performance": {"account": "acme", "timeframe": "last_90_days"},
    "klaviyo_get_campaigns": {"account": "acme"},
    "klaviyo_get_flows": {"account": "acme", "archived": False},
    "klaviyo_get_flow_performance": {"account": "acme", "timeframe": "last_30_days"},
    "klaviyo_get_flow_structure": {"account": "acme"},  # flow_id added from get_flows
    "klaviyo_audit_flows": {"account": "acme"},
    "klaviyo_get_performance_over_time": {"account": "acme", "entity": "flow", "timeframe": "last_90_days"},
    "klaviyo_compare_periods": {"account": "acme", "entity": "flow", "timeframe": "last_month"},
    "klaviyo_get_revenue_split": {"account": "acme", "timeframe": "last_30_days"},
    "klaviyo_rank_performance": {"account": "acme", "entity": "campaign", "timeframe": "last_90_days"},
    "klaviyo_find_anomalies": {"account": "acme", "entity": "flow"},
    "klaviyo_get_deliverability": {"account": "acme", "timeframe": "last_30_days"},
    "klaviyo_get_portfolio": {},
    "klaviyo_get_weekly_digest": {"account": "acme"},
    "klaviyo_get_predictive_analytics": {"account": "acme"},  # the whole account; all_calls adds a list_id
    "klaviyo_get_list_health": {"account": "acme"},
    "klaviyo_get_list_growth": {"account": "acme", "timeframe": "last_30_days"},
    "klaviyo_get_list_growth_by_list": {"account": "acme", "timeframe": "last_30_days"},
    "klaviyo_get_list_breakdown": {"account": "acme", "timeframe": "last_30_days"},
    "klaviyo_get_segments": {"account": "acme"},
    "klaviyo_get_segment_growth": {"account": "acme", "timeframe": "last_90_days"},
    "klaviyo_query_metric_aggregates": {"account": "acme", "metric": "Placed Order", "timeframe": "last_30_days"},
    "klaviyo_list_actions": {},
    "klaviyo_get_webhooks": {"account": "acme"},
    "klaviyo_get_form_performance": {"account": "acme", "timeframe": "last_30_days"},
    "klaviyo_get_ab_results": {"account": "acme"},  # campaign added from get_campaigns
    "klaviyo_get_link_clicks": {"account": "acme"},  # campaign added from get_campaigns
    "klaviyo_get_send_fatigue": {"account": "acme"},
}
# Read tools that need state the read-only walk does not create (covered in tests/actions).
NEEDS_STATE = {"klaviyo_get_action"}
EXTRA_CALLS = [
    ("klaviyo_get_performance_over_time", {"account": "acme", "entity": "campaign", "timeframe": "last_90_days"}),
    ("klaviyo_compare_periods", {"account": "globex", "entity": "campaign", "timeframe": "last_30_days"}),
    ("klaviyo_get_flow_performance", {"account": "acme", "timeframe": "last_30_days", "rollup": True}),
]


def call(service: KlaviyoService, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return run_tool(get_tool(name), service, arguments, CallContext(Deadline(45)))


def all_calls(service: KlaviyoService) -> list[tuple[str, dict[str, Any]]]:
    flows = call(service, "klaviyo_get_flows", {"account": "acme"})["data"]["flows"]
    calls = [(name, dict(args)) for name, args in READ_CALLS.items() if name in {s.name for s in CATALOG}]
    lists = call(service, "klaviyo_get_list_health", {"account": "acme"})["data"]["lists"]
    sent = call(service, "klaviyo_get_campaigns", {"account": "acme", "channel": "email", "status": "Sent"})
    for name, args in calls:
        if name in ("klaviyo_get_ab_results", "klaviyo_get_link_clicks"):
            args["campaign"] = sent["data"]["campaigns"][0]["campaign_id"]
        if name == "klaviyo_get_flow_structure":
            args["flow_id"] = flows[0]["flow_id"]
        if name == "klaviyo_get_predictive_analytics":
            args["list_id"] = lists[0]["list_id"]
    return calls + EXTRA_CALLS


def test_every_read_tool_has_a_sandbox_call() -> None:
    missing = {s.name for s in CATALOG if s.read_only} - set(READ_CALLS) - NEEDS_STATE
    assert not missing, f"add sandbox arguments for {sorted(missing)}"


def test_product_traffic_is_spec_valid(sandbox: Sandbox, tmp_path: Path) -> None:
    from tests.klaviyo_sandbox.conftest import SPEC_PATH, SpecChecker, ValidatingTransport
    from tests.spec import load_spec

    checker = SpecChecker(load_spec())
    assert SPEC_PATH.is_file()
    service = sandbox_service(sandbox, tmp_path, transport=ValidatingTransport(sandbox.transport, checker))
    for name, args in all_calls(service):
        envelope = call(service, name, args)
        assert envelope["data"] is not None, name
    statuses = {status for _, status in checker.checked}
    assert statuses <= {200, 201, 204}, "the product drew errors from the sandbox"
    operations = {op for op, _ in checker.checked}
    expected = {
        "get_metrics", "query_metric_aggregates", "query_campaign_values", "query_flow_values",
        "query_flow_series", "query_segment_series", "get_campaigns", "get_flows", "get_flow",
        "get_actions_for_flow", "get_lists", "get_list", "get_segments", "query_segment_values",
    }  # fmt: skip
    assert expected <= operations
    assert sandbox.state()["rate_limited"] == 0  # pacing at the published limits drew no 429


@pytest.mark.slow
def test_mcp_and_rest_payloads_are_identical_for_every_tool(service: KlaviyoService) -> None:
    app = create_app(service=service).test_client()
    headers = {"Authorization": f"Bearer {REST_TOKEN}"}

    async def over_mcp(calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        async with Client(server.build_server(service=service)) as client:
            return [(await client.call_tool(name, args)).structured_content or {} for name, args in calls]

    calls = all_calls(service)
    mcp_payloads = anyio.run(over_mcp, calls)
    for (name, args), from_mcp in zip(calls, mcp_payloads, strict=True):
        spec = get_tool(name)
        path = spec.path
        for param in spec.path_params:
            path = path.replace(f"<{param}>", str(args[param]))
        body = {k: v for k, v in args.items() if k not in spec.path_params}
        if spec.method == "GET":
            response = app.get(path, query_string=body, headers=headers)
        else:
            response = app.post(path, json=body, headers=headers)
        assert response.status_code == 200, (name, response.json)
        from_rest = response.json
        # The budget left is live account state: the MCP pass ran every tool before this REST call.
        budgets = [payload["metadata"].pop("quota", None) for payload in (from_mcp, from_rest)]
        assert (budgets[0] is None) == (budgets[1] is None), name
        for payload in (from_mcp, from_rest):
            payload["metadata"].pop("latency_ms")
        assert from_mcp == from_rest, name


def test_campaign_report_reconciles_with_metric_aggregates(service: KlaviyoService) -> None:
    """The same window through the reporting API and through metric events agree, per message."""
    perf = call(service, "klaviyo_get_campaign_performance", {"account": "acme", "timeframe": "last_90_days"})
    trend = call(service, "klaviyo_get_performance_over_time",
                 {"account": "acme", "entity": "campaign", "timeframe": "last_90_days", "interval": "monthly"})  # fmt: skip
    by_name: dict[str, float] = {}
    for series in trend["data"]["series"]:
        name = series["groupings"]["campaign_name"]
        by_name[name] = by_name.get(name, 0) + sum(series["statistics"]["recipients"])
    checked = 0
    for campaign in perf["data"]["campaigns"]:
        if campaign["sent"] and campaign["campaign_name"] in by_name:
            assert by_name[campaign["campaign_name"]] == pytest.approx(campaign["sent"]), campaign["campaign_name"]
            checked += 1
    assert checked >= 2


def test_list_growth_reconciles_with_growth_by_list(service: KlaviyoService) -> None:
    if "klaviyo_get_list_growth_by_list" not in {s.name for s in CATALOG}:
        pytest.skip("list growth tools are not in the catalog")
    total = call(service, "klaviyo_get_list_growth", {"account": "acme", "timeframe": "last_30_days"})
    per_list = call(service, "klaviyo_get_list_growth_by_list", {"account": "acme", "timeframe": "last_30_days"})
    assert total["data"]["growth"]["list"]["subscribed"] == per_list["data"]["totals"]["subscribed"]
    assert total["data"]["growth"]["list"]["subscribed"] > 0

"""/openapi.json: valid OpenAPI 3.1, public, and in step with the catalog and the app's routes."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import validate

from api import create_app
from api.openapi import EXTRA_ROUTES, openapi_path
from klaviyo_analytics.service import KlaviyoService
from klaviyo_analytics.tools import CATALOG, visible_tools
from tests.api.rest.conftest import AUTH

METHODS = {"get", "post", "put", "patch", "delete"}


def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return dict(response.json)


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m.upper(), path): op for path, item in doc["paths"].items() for m, op in item.items() if m in METHODS}


@pytest.mark.slow
def test_document_is_valid_openapi_3_1_and_needs_no_token(app: Flask) -> None:
    doc = document(app)  # no Authorization header
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_catalog_route_is_documented_with_its_method_and_nothing_else(app: Flask) -> None:
    ops = operations(document(app))
    tools = {(spec.method, openapi_path(spec.path)): spec for spec in CATALOG}
    assert set(tools) <= set(ops)
    for key, spec in tools.items():
        assert ops[key]["operationId"] == spec.name
    extras = {key for key in ops if key not in tools}
    # Beyond the tools only the declared non-tool routes, and none left undescribed.
    assert {path for _, path in extras} <= {"/health", "/health/details", "/openapi.json", "/v1/tools", "/metrics",
                                           "/v1/actions/{action_id}/approve", "/v1/actions/{action_id}/reject"}  # fmt: skip
    assert not [key for key, op in ops.items() if op.get("x-undocumented")]


def test_document_follows_the_url_map(app: Flask) -> None:
    routed = {
        (method, openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.rule.startswith("/console")  # HTML pages, not the JSON API
        for method in rule.methods or ()
        if method.lower() in METHODS
    }
    assert set(operations(document(app))) == routed


def test_read_only_app_documents_only_read_tools(service: KlaviyoService) -> None:
    service.settings = replace(service.settings, read_only=True)
    ops = operations(document(create_app(service=service)))
    tool_ops = {op["operationId"] for op in ops.values() if "operationId" in op}
    assert tool_ops == {spec.name for spec in visible_tools(read_only=True)}


def test_get_tools_take_one_query_parameter_per_field_and_post_tools_their_input_schema(app: Flask) -> None:
    ops = operations(document(app))
    for spec in CATALOG:
        op = ops[(spec.method, openapi_path(spec.path))]
        fields = set(spec.input_schema.get("properties", {}))
        params = {(p["in"], p["name"]) for p in op.get("parameters", [])}
        path_fields = set(spec.path_params)
        assert {name for where, name in params if where == "path"} == path_fields
        if spec.method == "GET":
            assert "requestBody" not in op
            assert {name for where, name in params if where == "query"} == fields - path_fields
        else:
            body = op["requestBody"]["content"]["application/json"]["schema"]
            assert set(body["properties"]) == fields - path_fields
            assert body["additionalProperties"] is False
            several = {"account"} & fields  # this app has two accounts: naming one is required
            assert set(body.get("required", [])) == set(spec.input_schema.get("required", [])) - path_fields | several


def test_a_field_that_takes_null_says_so_in_the_body_schema(app: Flask) -> None:
    op = operations(document(app))[("POST", "/v1/campaigns/performance")]
    campaign = op["requestBody"]["content"]["application/json"]["schema"]["properties"]["campaign"]
    assert {"type": "null"} in campaign["anyOf"]


def test_the_contract_states_the_constraints_input_validation_enforces(app: Flask) -> None:
    ops = operations(document(app))
    body = ops[("POST", "/v1/campaigns/performance")]["requestBody"]["content"]["application/json"]["schema"]
    # two accounts configured: account is required and never null (null was refused with several)
    assert "account" in body["required"] and body["properties"]["account"]["pattern"].startswith("^")
    start = body["properties"]["start_date"]["anyOf"][0]
    assert re.fullmatch(start["pattern"], "2026-01-31") and not re.fullmatch(start["pattern"], "2000-01-01")
    assert not re.fullmatch(start["pattern"], "2026-02-30") and not re.fullmatch(start["pattern"], "2026-01-01T00:00")
    campaign = body["properties"]["campaign"]["anyOf"][0]
    assert not re.fullmatch(campaign["pattern"], "") and re.fullmatch(campaign["pattern"], "01JABC")
    flows = {p["name"]: p["schema"] for p in ops[("GET", "/v1/flows")]["parameters"]}
    assert not re.fullmatch(flows["account"]["pattern"], "")  # an empty query value is not an account
    approve = {p["name"]: p["schema"] for p in ops[("POST", "/v1/actions/{action_id}/approve")]["parameters"]}
    assert not re.fullmatch(approve["action_id"]["pattern"], "0")


def test_200_is_the_tool_envelope_and_errors_the_one_shape(app: Flask) -> None:
    doc = document(app)
    schemas = doc["components"]["schemas"]
    op = operations(doc)[("POST", "/v1/campaigns/performance")]
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]
    envelope = schemas[ok["$ref"].rsplit("/", 1)[-1]]
    assert set(envelope["required"]) == {"data", "metadata", "warnings"}
    assert "X-RateLimit-Remaining" in op["responses"]["200"]["headers"]
    for status in ("400", "401", "403", "404", "413", "429", "500", "502", "504"):
        assert op["responses"][status] == {"$ref": f"#/components/responses/Error{status}"}
    error = schemas["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["required"]) == {"code", "message", "details"}
    assert {"INVALID_ARGUMENT", "RATE_LIMITED", "NOT_FOUND"} <= set(
        error["properties"]["error"]["properties"]["code"]["enum"]
    )
    assert "Retry-After" in doc["components"]["responses"]["Error429"]["headers"]


def test_auth_schemes_and_public_routes(app: Flask) -> None:
    doc = document(app)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKeyAuth"] == {**schemes["apiKeyAuth"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert doc["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
    ops = operations(doc)
    assert ops[("GET", "/health")]["security"] == []
    assert ops[("GET", "/openapi.json")]["security"] == []
    assert "security" not in ops[("GET", "/metrics")]  # the document-wide token requirement applies
    assert "token" in ops[("GET", "/metrics")]["summary"]
    assert "text/plain" in ops[("GET", "/metrics")]["responses"]["200"]["content"]


def test_approval_routes_are_described_when_present(app: Flask) -> None:
    ops = operations(document(app))
    present = {(m, openapi_path(r.rule)) for r in app.url_map.iter_rules() if r.endpoint.startswith("approvals.")
               for m in r.methods or () if m == "POST"}  # fmt: skip
    if not present:
        pytest.skip("this checkout has no approval routes")
    for key in present:
        assert "approver token" in ops[key]["summary"]
        assert "409" in ops[key]["responses"]
    assert {"approvals.approve", "approvals.reject"} <= set(EXTRA_ROUTES)


def test_served_document_matches_what_the_routes_do(app: Flask) -> None:
    """A spot check of the document against live answers (the fuzz test checks every route)."""
    client = app.test_client()
    assert client.get("/v1/tools").status_code == 401
    assert client.get("/metrics", headers=AUTH).status_code == 200
    assert client.get("/openapi.json").headers.get("X-RateLimit-Limit") is None  # not rate limited


def test_the_date_pattern_is_exactly_the_dates_the_api_accepts() -> None:
    from datetime import date, timedelta

    from klaviyo_analytics.rules.timeframes import EARLIEST_DATE, LATEST_DATE
    from klaviyo_analytics.schemas.common import DATE_PATTERN

    day, wrong = EARLIEST_DATE - timedelta(days=40), []
    while day <= LATEST_DATE + timedelta(days=40):
        if bool(re.fullmatch(DATE_PATTERN, day.isoformat())) != (EARLIEST_DATE <= day <= LATEST_DATE):
            wrong.append(day)
        day += timedelta(days=1)
    assert wrong == []
    assert re.fullmatch(DATE_PATTERN, date(2024, 2, 29).isoformat())
    for impossible in ("2013-02-29", "2100-02-29", "2024-02-30", "2026-04-31", "2026-13-01"):
        assert not re.fullmatch(DATE_PATTERN, impossible)

"""``GET /openapi.json``: the REST contract (OpenAPI 3.1), generated, never written by hand.

Paths come from the app's own URL map, so the document lists exactly the routes that exist.
A catalog route is described from its ``ToolSpec``: the tool's ``input_schema`` as the JSON body
(POST) or as one query parameter per field (GET), path parameters from the route, and its
envelope model as the 200 response (pydantic's serialization schema; every model lands once in
``components.schemas``). The few routes that are not tools are described in :data:`EXTRA_ROUTES`;
a route in neither place is still listed, marked ``x-undocumented`` (a test forbids that).
Every error is the one shape ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, jsonify
from pydantic.json_schema import models_json_schema

from api.auth import is_console
from api.errors import HTTP_CODES
from klaviyo_analytics.actions.flow_guard import ACKNOWLEDGEMENTS
from klaviyo_analytics.errors import ALL_ERRORS, RULES
from klaviyo_analytics.schemas.actions import ACTION_ID_PATTERN
from klaviyo_analytics.schemas.common import ErrorBody
from klaviyo_analytics.tools import CATALOG, ToolSpec

OPENAPI_VERSION = "3.1.0"
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"apiKeyAuth": []}]
DESCRIPTION = (
    "Klaviyo reporting and approval-gated drafting. Every route but /health and /openapi.json needs a "
    "token: `Authorization: Bearer <token>` or `X-API-Key: <token>`. Tool routes return the envelope "
    "`{data, metadata, warnings}`; every error is `{error: {code, message, details}}`, and a route's "
    "error statuses are listed with it. Limits: REST_RATE_LIMIT per token (429 RATE_LIMITED), 256 KiB "
    "bodies (413), JSON nested at most 32 deep (400). Schemas state every constraint of a single field; "
    "rules that join fields (or a field and the account) are listed in `x-rules`, and a 400 that breaks "
    "one names it in `details.rule`."
)
IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})
ERROR_STATUSES = {
    400: "Invalid input (`INVALID_ARGUMENT`); `details.field` names the offending field.",
    401: "No credential (`UNAUTHENTICATED`).",
    403: (
        "Credential refused, the account or role not granted to the caller, or the action not allowed "
        "(`FORBIDDEN`, `READ_ONLY`, `MISSING_SCOPE`, ...)."
    ),
    404: "Unknown route, account or object (`NOT_FOUND`, `UNKNOWN_ACCOUNT`).",
    409: "Not allowed in the object's current state (`CONFLICT`, `APPROVAL_REQUIRED`).",
    413: "Body larger than 256 KiB (`PAYLOAD_TOO_LARGE`).",
    429: "Too many requests from this token, or from Klaviyo's limits (`RATE_LIMITED`); see `Retry-After`.",
    500: "Unexpected failure (`INTERNAL_ERROR`, `CONFIG_ERROR`); the body never carries internals.",
    502: "Klaviyo failed or refused (`UPSTREAM_ERROR`, `UPSTREAM_AUTH`).",
    503: "A store this server depends on (the ledger's database) is unreachable; retry (`UNAVAILABLE`).",
    504: "The call's deadline passed (`DEADLINE_EXCEEDED`).",
}
TOOL_ERRORS = (400, 401, 403, 404, 429, 500, 502, 503, 504)
RATE_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed in the current window for this token.",
    "X-RateLimit-Remaining": "Requests left in the current window.",
    "X-RateLimit-Reset": "When the window resets (Unix time, seconds).",
}


@dataclass(frozen=True)
class Route:
    """How to document a route that is not a catalog tool."""

    summary: str
    tag: str
    response: dict[str, Any]  # the 200 response's content, by media type
    errors: tuple[int, ...] = ()
    public: bool = False
    request: dict[str, Any] | None = None
    extra_responses: dict[str, Any] = field(default_factory=dict)


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "version", "components"],
    "properties": {
        "status": {"enum": ["ok", "degraded"]},
        "version": {"type": "string"},
        "components": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"enum": ["ok", "unavailable"]}, "message": {"type": "string"}},
            },
        },
    },
}
TOOL_ROW = {
    "type": "object",
    "required": ["name", "title", "description", "method", "path", "read_only", "scopes", "toolset"],
    "properties": {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "method": {"enum": ["GET", "POST"]},
        "path": {"type": "string"},
        "read_only": {"type": "boolean"},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "toolset": {"type": "string"},
    },
}
DECISION_BODY = {
    "required": False,
    "content": _json(
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "reason": {"type": "string"},
                # approving needs the plan_hash the approver was shown (the action view's plan_hash)
                "plan_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                # approving a plan with a BLOCKING warning (live flows on the list) needs this
                "acknowledge": {"type": "array", "items": {"type": "string", "enum": list(ACKNOWLEDGEMENTS)}},
            },
        }
    ),
}
DECISION_RESPONSE = "#decision"  # replaced by the action view's schema when the catalog has one

EXTRA_ROUTES: dict[str, Route] = {
    "health": Route(
        "Health of this process: each component's status only (ledger, accounts, quota, auth).", "service",
        _json(HEALTH_SCHEMA), public=True,
        extra_responses={"503": {"description": "A component is unavailable.", "content": _json(HEALTH_SCHEMA)}},
    ),
    "health_details": Route(
        "Health with each component's details (ledger counts, backends, users). Needs an approver's token.",
        "service",
        _json(HEALTH_SCHEMA), errors=(401, 403, 429, 500),
        extra_responses={"503": {"description": "A component is unavailable.", "content": _json(HEALTH_SCHEMA)}},
    ),
    "openapi": Route("This document.", "service", _json({"type": "object"}), public=True),
    "tools": Route(
        "The tool catalog: one entry per tool and its route.", "service",
        _json({"type": "object", "required": ["tools"], "properties": {"tools": {"type": "array", "items": TOOL_ROW}}}),
        errors=(401, 403, 429, 500),
    ),
    "metrics": Route(
        "Prometheus metrics (text format). Needs any valid REST token.", "service",
        {"text/plain": {"schema": {"type": "string"}}}, errors=(401, 403, 429, 500),
    ),
    "approvals.approve": Route(
        "Approve a pending action. Needs the approver role on its account: an approver token or grant.", "approvals",
        _json({"$ref": DECISION_RESPONSE}), errors=(400, 401, 403, 404, 409, 413, 429, 500), request=DECISION_BODY,
    ),
    "approvals.reject": Route(
        "Reject a pending action. Needs the approver role on its account: an approver token or grant.", "approvals",
        _json({"$ref": DECISION_RESPONSE}), errors=(400, 401, 403, 404, 409, 413, 429, 500), request=DECISION_BODY,
    ),
}  # fmt: skip


# Path parameters of the routes that are not tools, as strictly as the routes check them.
PATH_SCHEMAS: dict[str, dict[str, Any]] = {"action_id": {"type": "string", "pattern": ACTION_ID_PATTERN}}


def openapi_path(rule: str) -> str:
    """Flask's ``/v1/flows/<flow_id>/structure`` (or ``<string:flow_id>``) as ``/v1/flows/{flow_id}/structure``."""
    return re.sub(r"<(?:[a-z_]+:)?([A-Za-z_][A-Za-z0-9_]*)>", r"{\1}", rule)


def error_codes() -> list[str]:
    return sorted({e.code for e in ALL_ERRORS} | set(HTTP_CODES.values()) | {"HTTP_ERROR"})


def error_schema() -> dict[str, Any]:
    inner = ErrorBody.model_json_schema()
    inner.pop("title", None)
    inner["additionalProperties"] = False
    inner["properties"]["code"] = {"type": "string", "enum": error_codes()}
    for prop in inner["properties"].values():
        prop.pop("title", None)
    return {"type": "object", "required": ["error"], "additionalProperties": False, "properties": {"error": inner}}


def _error_responses(statuses: tuple[int, ...]) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/Error{status}"} for status in sorted(statuses)}


def _ok(content: dict[str, Any], *, limited: bool) -> dict[str, Any]:
    response: dict[str, Any] = {"description": "Success.", "content": content}
    if limited:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_HEADERS}
    return response


def _describe_param(name: str, schema: dict[str, Any], where: str, required: bool) -> dict[str, Any]:
    schema = dict(schema)
    param: dict[str, Any] = {"name": name, "in": where, "required": required}
    if "description" in schema:
        param["description"] = schema.pop("description")
    param["schema"] = schema
    return param


def nullable_fields(spec: ToolSpec) -> set[str]:
    """Fields that accept JSON null (optional, no default but None): ``input_schema`` shows them as
    plain X — over MCP leaving a field out says "none" — but a REST body may also send null."""
    properties = spec.params.model_json_schema().get("properties", {})
    return {name for name, prop in properties.items() if {"type": "null"} in prop.get("anyOf", [])}


def or_null(prop: dict[str, Any]) -> dict[str, Any]:
    inner = {k: v for k, v in prop.items() if k != "description"}
    described = {"description": prop["description"]} if "description" in prop else {}
    return {"anyOf": [inner, {"type": "null"}], **described}


def tool_operation(
    spec: ToolSpec, envelope_ref: dict[str, Any], path_params: list[str], *, several_accounts: bool = False
) -> dict[str, Any]:
    schema = spec.contract_schema
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    if several_accounts and "account" in properties:
        # With more than one account configured, leaving it out (or null) is refused: say so.
        required.add("account")
        properties = {**properties, "account": {**properties["account"], "description": "Required: several accounts."}}
    parameters = [_describe_param(name, properties.get(name, {"type": "string"}), "path", True) for name in path_params]
    operation: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.title,
        "description": spec.description,
        "tags": [spec.toolset],
        "x-read-only": spec.read_only,
        "x-klaviyo-scopes": list(spec.scopes),
    }
    rest = {name: prop for name, prop in properties.items() if name not in path_params}
    errors = TOOL_ERRORS if spec.read_only else (*TOOL_ERRORS, 409)
    if spec.method == "GET":
        parameters += [_describe_param(name, prop, "query", name in required) for name, prop in rest.items()]
    else:
        nullable = nullable_fields(spec) - required
        body = {**schema, "properties": {name: or_null(p) if name in nullable else p for name, p in rest.items()}}
        body_required = sorted(required - set(path_params))
        body.pop("required", None)
        if body_required:
            body["required"] = body_required
        operation["requestBody"] = {"required": bool(body_required), "content": _json(body)}
        errors = (*errors, 413)
    if parameters:
        operation["parameters"] = parameters
    content = _json(envelope_ref)
    if spec.chart:  # the chart variants chosen by Accept (api/routes.py chart_response; docs/rest-api.md)
        chart = {"type": "object", "description": "The chart's title, panels and values; image: the PNG as a data URL."}
        content["image/png"] = {"schema": {"type": "string", "format": "binary"}}
        content["application/vnd.klaviyo-mcp.chart+json"] = {
            "schema": {"allOf": [envelope_ref, {"type": "object", "properties": {"chart": chart}}]}
        }
    operation["responses"] = {"200": _ok(content, limited=True), **_error_responses(errors)}
    return operation


def extra_operation(route: Route, path_params: list[str], decision: dict[str, Any]) -> dict[str, Any]:
    content = route.response
    if content == _json({"$ref": DECISION_RESPONSE}):
        content = _json(decision)
    operation: dict[str, Any] = {"summary": route.summary, "tags": [route.tag]}
    if route.public:
        operation["security"] = []
    if path_params:
        operation["parameters"] = [_describe_param(name, PATH_SCHEMAS.get(name, {"type": "string"}), "path", True)
                                   for name in path_params]  # fmt: skip
    if route.request is not None:
        operation["requestBody"] = route.request
    responses = {"200": _ok(content, limited=not route.public), **route.extra_responses}
    operation["responses"] = {**responses, **_error_responses(route.errors)}
    return operation


def _decision_schema(refs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Approve/reject answer with the action itself, shaped like ``klaviyo_get_action``'s data."""
    view = refs.get("klaviyo_get_action#data", {"type": "object"})
    return {
        "type": "object",
        "required": ["data", "metadata", "warnings"],
        "properties": {
            "data": view,
            "metadata": {"type": "object"},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
    }


def build_document(app: Flask) -> dict[str, Any]:
    service = app.extensions.get("klaviyo_service")
    several = service is not None and len(service.registry.names) > 1
    tools = {spec.name: spec for spec in CATALOG}
    routed = [spec for spec in CATALOG if spec.name in app.view_functions]
    keys = [(spec.envelope, "serialization") for spec in routed] + [(spec.result, "serialization") for spec in routed]
    mapping, top = models_json_schema(keys, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
    refs = {spec.name: mapping[(spec.envelope, "serialization")] for spec in routed}
    refs |= {f"{spec.name}#data": mapping[(spec.result, "serialization")] for spec in routed}
    decision = _decision_schema(refs)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or is_console(rule.rule):
            continue  # the console is HTML pages for people (api/console), not part of the JSON API
        path = openapi_path(rule.rule)
        params = sorted(rule.arguments, key=rule.rule.index)
        for method in sorted(set(rule.methods or ()) - IMPLICIT_METHODS):
            if rule.endpoint in tools:
                operation = tool_operation(tools[rule.endpoint], refs[rule.endpoint], params, several_accounts=several)
            elif rule.endpoint in EXTRA_ROUTES:
                operation = extra_operation(EXTRA_ROUTES[rule.endpoint], params, decision)
            else:
                operation = {
                    "summary": f"{rule.endpoint} (not yet described in api/openapi.py)",
                    "x-undocumented": True,
                    "parameters": [_describe_param(p, {"type": "string"}, "path", True) for p in params],
                    "responses": {"200": {"description": "Success."}, **_error_responses((401, 403, 500))},
                }
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "klaviyo-mcp REST API",
            "version": str(app.extensions.get("klaviyo_version", "0")),
            "description": DESCRIPTION,
            "x-rules": dict(RULES),
        },
        "security": SECURITY,
        "paths": paths,
        "components": components({**top.get("$defs", {}), "Error": error_schema()}),
    }


def components(schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, text in ERROR_STATUSES.items():
        response: dict[str, Any] = {"description": text, "content": _json({"$ref": "#/components/schemas/Error"})}
        if status == 429:
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
        responses[f"Error{status}"] = response
    headers: dict[str, Any] = {
        name: {"description": text, "schema": {"type": "integer"}} for name, text in RATE_HEADERS.items()
    }
    headers["Retry-After"] = {"description": "Seconds to wait.", "required": True, "schema": {"type": "integer"}}
    return {
        "schemas": schemas,
        "responses": responses,
        "headers": headers,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "REST_API_KEY or a REST_API_TOKENS entry.",
            },
            "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "The same token."},
        },
    }


def install_openapi(app: Flask) -> None:
    @app.get("/openapi.json")
    def openapi() -> Response:
        # The URL map is complete once create_app returns, so one build serves every request.
        document = current_app.extensions.get("klaviyo_openapi")
        if document is None:
            document = current_app.extensions["klaviyo_openapi"] = build_document(current_app)
        return jsonify(document)

"""Fuzzing every MCP tool with hypothesis, through the in-process MCP client, over the sandbox.

Arguments are drawn from each tool's own ``input_schema`` with plain hypothesis strategies (a
small JSON-schema-to-strategy mapping below, no hypothesis-jsonschema), nudged towards values
the sandbox knows (its account names, ISO dates) so that many calls get past validation into
the handlers, then sometimes broken: a wrong type, an unknown field, a required field removed.

The oracle is the tool's pydantic model: arguments it refuses must come back as
``INVALID_ARGUMENT`` naming ``details.field``; arguments it takes may fail for a reason (unknown
account, dates out of range, an id the sandbox lacks) but never with ``INTERNAL_ERROR``, and an
``INVALID_ARGUMENT`` or ``UNKNOWN_ACCOUNT`` always names its field. MCP_FUZZ_EXAMPLES sets the
examples per tool (default 10; ``make fuzz`` raises it).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from pydantic import ValidationError

import server
from klaviyo_analytics.service import KlaviyoService
from klaviyo_analytics.tools import CATALOG, ToolSpec
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.product.conftest import sandbox_service

EXAMPLES = int(os.environ.get("MCP_FUZZ_EXAMPLES", "10"))
OUTCOMES: Counter[str] = Counter()
ANCHOR = date(2026, 3, 15)
Call = Callable[[str, dict[str, Any]], Any]

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
)


def for_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that satisfy ``schema`` as far as it says (the models check more than they advertise)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([for_schema(option) for option in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        if schema.get("format") == "date":
            return st.dates(ANCHOR - timedelta(days=800), ANCHOR + timedelta(days=30)).map(date.isoformat)
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40))
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        return st.floats(low, schema.get("maximum"), allow_nan=False, allow_infinity=False,
                         exclude_min="exclusiveMinimum" in schema)  # fmt: skip
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = for_schema(schema.get("items", {}))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 4), 4))
    return JSON_VALUES


def for_field(name: str, schema: dict[str, Any], accounts: list[str]) -> st.SearchStrategy[Any]:
    if name == "account":
        return st.sampled_from(accounts) | for_schema(schema)
    return for_schema(schema)


def wrong_type(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    kinds = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}
    expected = kinds.get(schema.get("type", ""), ())
    return JSON_VALUES.filter(lambda v: v is not None and not isinstance(v, expected))


@st.composite
def arguments(draw: st.DrawFn, spec: ToolSpec, accounts: list[str]) -> dict[str, Any]:
    schema = spec.input_schema
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    args = {
        name: draw(for_field(name, prop, accounts))
        for name, prop in properties.items()
        if name in required or draw(st.booleans())
    }
    if "account" in properties and draw(st.integers(0, 3)):
        args["account"] = draw(st.sampled_from(accounts))  # mostly a real account: reach the handler
    if {"timeframe", "start_date", "end_date"} <= set(properties):
        # The window rules (a preset, or both dates in order) are the model's, not the schema's.
        window = draw(st.sampled_from(["preset", "dates", "as drawn"]))
        if window != "as drawn":
            for name in ("timeframe", "start_date", "end_date"):
                args.pop(name, None)
        if window == "preset":
            args["timeframe"] = draw(for_schema(properties["timeframe"]))
        elif window == "dates":
            first, second = sorted(draw(st.lists(for_schema(properties["start_date"]), min_size=2, max_size=2)))
            args["start_date"], args["end_date"] = first, second
    mutation = draw(st.sampled_from(["none", "none", "none", "wrong_type", "unknown_field", "drop_required"]))
    if mutation == "wrong_type" and properties:
        name = draw(st.sampled_from(sorted(properties)))
        args[name] = draw(wrong_type(properties[name]))
    elif mutation == "unknown_field":
        args[draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in properties))] = draw(JSON_VALUES)
    elif mutation == "drop_required" and required:
        args.pop(draw(st.sampled_from(sorted(required))))
    return args


@pytest.fixture(scope="module")
def fuzz_service(tmp_path_factory: pytest.TempPathFactory) -> KlaviyoService:
    sandbox = Sandbox(SandboxConfig(seed=11, time_scale=0.001, anchor=ANCHOR))
    return sandbox_service(sandbox, tmp_path_factory.mktemp("mcp-fuzz"), KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE="0.001")


@pytest.fixture(scope="module")
def call_tool(fuzz_service: KlaviyoService) -> Iterator[Call]:
    """One MCP session for the module, driven from synchronous hypothesis tests through a portal."""
    mcp = Client(server.build_server(service=fuzz_service))
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(mcp) as client:
        yield lambda name, args: portal.call(client.call_tool, name, args)
    # The figures RELIABILITY.md quotes; shown with -s (make fuzz passes it).
    print(f"\nmcp fuzz: {sum(OUTCOMES.values())} calls, {EXAMPLES} per tool: {dict(sorted(OUTCOMES.items()))}")


def model_accepts(spec: ToolSpec, args: dict[str, Any]) -> bool:
    try:
        spec.params.model_validate(args)
    except ValidationError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("spec", CATALOG, ids=[spec.name for spec in CATALOG])
def test_every_tool_answers_fuzzed_arguments_cleanly(
    spec: ToolSpec, call_tool: Call, fuzz_service: KlaviyoService
) -> None:
    accounts = fuzz_service.registry.names

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(args=arguments(spec, accounts))
    def check(args: dict[str, Any]) -> None:
        result = call_tool(spec.name, args)
        valid = model_accepts(spec, args)
        if not result.is_error:
            assert valid, f"{spec.name} accepted arguments its model refuses: {args!r}"
            OUTCOMES["ok"] += 1
            return
        error = result.structured_content["error"]
        OUTCOMES[error["code"]] += 1
        assert error["code"] != "INTERNAL_ERROR", f"{spec.name}({args!r}) -> {error}"
        if not valid:
            assert error["code"] == "INVALID_ARGUMENT", f"{spec.name}({args!r}) -> {error}"
        if error["code"] in {"INVALID_ARGUMENT", "UNKNOWN_ACCOUNT"}:
            assert error["details"].get("field"), f"{spec.name}({args!r}) -> {error} names no field"

    check()

"""ToolSpec: everything about a tool, declared once.

Both adapters are generated from these entries — MCP registers one tool per entry and
Flask one route per entry — so neither contains per-tool code.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from klaviyo_analytics.schemas.common import CONTRACT_KEY, Envelope, OutputModel, StrictModel
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult

# Length limits at least this large are enforced but not advertised (they inform no choice).
GENEROUS_LENGTH = 100
SCHEMAS_FILE = Path(__file__).with_name("schemas.json")
Handler = Callable[[KlaviyoService, Any, CallContext], ToolResult[Any]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    params: type[StrictModel]
    result: type[OutputModel]
    handler: Handler
    # Required, no default: every entry must say whether it can change anything.
    read_only: bool
    scopes: tuple[str, ...]
    toolset: str
    method: Literal["GET", "POST"]
    path: str  # REST route in Flask syntax, e.g. "/v1/flows/<flow_id>/structure"
    destructive: bool = False
    idempotent: bool = True
    # The result draws a chart (charts.py): MCP adds it as an App or a PNG, REST answers image/png.
    chart: bool = False
    # (rows field, row id field) of a tool whose partial answers resume (tools/resume.py).
    resume_rows: tuple[str, str] | None = None
    # Arguments ``python -m klaviyo_analytics warm`` asks this tool with before anyone does (tools/warmable.py).
    warm: tuple[Mapping[str, Any], ...] = ()

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", self.path)

    @property
    def annotations(self) -> dict[str, bool]:
        """MCP tool annotations, derived from ``read_only``. A plain dict, so the REST runtime
        (which ships without the MCP SDK) can import the catalog. The title is already on the
        tool itself; repeating it here would only cost bytes, and so would the idempotent and
        destructive hints of a read-only tool, which the MCP spec gives meaning only for tools that
        write."""
        hints = {"readOnlyHint": self.read_only}
        if not self.read_only:
            hints["idempotentHint"] = self.idempotent
            hints["destructiveHint"] = self.destructive
        hints["openWorldHint"] = True
        return hints

    @cached_property
    def envelope(self) -> type[Envelope[Any]]:
        return Envelope[self.result]  # type: ignore[name-defined]

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        committed = committed_schemas(self)
        return committed["input"] if committed else self.built_input_schema()

    @cached_property
    def contract_schema(self) -> dict[str, Any]:
        """``input_schema`` with every constraint the input validators enforce (patterns, enums,
        length ceilings): the REST contract (``/openapi.json``) states exactly what is accepted,
        where ``tools/list`` keeps them out to stay small (the errors state them when it matters)."""
        return compact_schema(self.params.model_json_schema(), contract=True)

    @cached_property
    def output_schema(self) -> dict[str, Any]:
        committed = committed_schemas(self)
        return committed["output"] if committed else self.built_output_schema()

    def built_input_schema(self) -> dict[str, Any]:
        return compact_schema(self.params.model_json_schema())

    def built_output_schema(self) -> dict[str, Any]:
        schema = compact_schema(self.envelope.model_json_schema(mode="serialization"), output=True)
        # The metadata block is identical for every tool (account, period, revision, latency_ms);
        # docs/rest-api.md documents it once instead of every tool repeating it on every turn.
        schema["properties"]["metadata"] = {"type": "object"}
        return schema

    @property
    def models(self) -> str:
        """Which models the schemas are built from (a committed schema is used only for these)."""
        params, result = self.params, self.result
        return f"{params.__module__}.{params.__qualname__} -> {result.__module__}.{result.__qualname__}"


def committed_schemas(spec: ToolSpec) -> dict[str, Any] | None:
    """The schemas ``make docs`` wrote to schemas.json for this tool's models, if any.

    Building every tool's schemas with pydantic took about 0.15 s of each server start, for a
    result that changes only when a model does. A test holds the file equal to what the models
    build, so it cannot drift; a tool whose models are not the committed ones builds its own.
    """
    entry = _committed().get(spec.name)
    if entry is None or entry.get("models") != spec.models:
        return None
    return dict(entry)


@functools.cache
def _committed() -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(SCHEMAS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded


def build_schemas(specs: Iterable[ToolSpec]) -> str:
    """schemas.json's text for ``specs``, built from the models (``make docs`` writes it)."""
    document = {
        spec.name: {"models": spec.models, "input": spec.built_input_schema(), "output": spec.built_output_schema()}
        for spec in specs
    }
    return json.dumps(document, indent=1) + "\n"  # key order kept: it is the order a client shows fields in


def compact_schema(schema: dict[str, Any], *, output: bool = False, contract: bool = False) -> dict[str, Any]:
    """The same contract in fewer bytes: every tool's schemas go to the model on every turn.

    $refs are inlined (the models are not recursive), generated titles and ``null`` defaults
    dropped, and an optional value's ``anyOf [X, null]`` becomes X (inputs: leaving a field out
    is how a caller says "none") or X with ``null`` in its type (outputs). Outputs are typed two
    levels deep — the envelope and the fields of ``data`` — and anything nested further is only
    ``object`` or ``array``; no ``required`` lists (every declared field is always present). Rows
    are described in the generated tool reference (docs/tools.md); spelling them out here would double
    the size of ``tools/list``. With ``contract``, the constraints fields declare under
    :data:`CONTRACT_KEY` (``schemas/common.py``) and the generous length ceilings are kept.
    """
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [resolve(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
        out = {}
        for key, value in node.items():
            if key in {"$defs", "title", CONTRACT_KEY} or (key == "default" and value is None):
                continue
            if key == "maxLength" and value >= GENEROUS_LENGTH and not contract:
                continue  # a ceiling no sensible value nears; still enforced on input
            out[key] = {k: resolve(v) for k, v in value.items()} if key == "properties" else resolve(value)
        if contract and isinstance(node.get(CONTRACT_KEY), dict):
            for key, value in node[CONTRACT_KEY].items():  # None removes (a date's format: its pattern says more)
                out.pop(key, None) if value is None else out.__setitem__(key, value)
        variants = out.get("anyOf")
        if isinstance(variants, list) and len(variants) == 2 and {"type": "null"} in variants:
            (inner,) = [v for v in variants if v != {"type": "null"}]
            rest = {k: v for k, v in out.items() if k != "anyOf"}
            if output and isinstance(inner.get("type"), str):
                return {**inner, **rest, "type": [inner["type"], "null"]}
            return {**inner, **rest} if not output else out
        return out

    def shallow(node: dict[str, Any], depth: int) -> dict[str, Any]:
        kind = node.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if depth >= 2 and ("object" in kinds or "anyOf" in node):
            return {"type": kind if "object" in kinds else "object"}
        if "array" in kinds:
            items = node.get("items", {})
            item_kind = items.get("type")
            if depth >= 2 and (item_kind in (None, "object", "array") or isinstance(item_kind, list)):
                return {"type": kind}
            return {"type": kind, "items": shallow(items, depth + 1)}
        out = {k: v for k, v in node.items() if k not in {"properties", "required", "additionalProperties"}}
        if "properties" in node:
            out["properties"] = {name: shallow(prop, depth + 1) for name, prop in node["properties"].items()}
        elif "additionalProperties" in node:
            out["additionalProperties"] = shallow(node["additionalProperties"], depth + 1)
        return out

    resolved: dict[str, Any] = resolve(schema)
    return shallow(resolved, 0) if output else resolved

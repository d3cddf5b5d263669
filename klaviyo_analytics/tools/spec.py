"""ToolSpec: everything about a tool, declared once.

Both adapters are generated from these entries — MCP registers one tool per entry and
Flask one route per entry — so neither contains per-tool code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from mcp_types import ToolAnnotations

from klaviyo_analytics.schemas.common import Envelope, OutputModel, StrictModel
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult

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

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", self.path)

    @property
    def annotations(self) -> ToolAnnotations:
        # The title is already on the tool itself; repeating it in the annotations only costs bytes.
        return ToolAnnotations(
            read_only_hint=self.read_only,
            destructive_hint=None if self.read_only else self.destructive,
            idempotent_hint=True if self.read_only else self.idempotent,
            open_world_hint=True,
        )

    @cached_property
    def envelope(self) -> type[Envelope[Any]]:
        return Envelope[self.result]  # type: ignore[name-defined]

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        return compact_schema(self.params.model_json_schema())

    @cached_property
    def output_schema(self) -> dict[str, Any]:
        schema = compact_schema(self.envelope.model_json_schema(mode="serialization"), output=True)
        # The metadata block is identical for every tool (account, period, revision, latency_ms);
        # the README documents it once instead of every tool repeating it on every turn.
        schema["properties"]["metadata"] = {"type": "object"}
        return schema


def compact_schema(schema: dict[str, Any], *, output: bool = False) -> dict[str, Any]:
    """The same contract in fewer bytes: every tool's schemas are sent to the model on every turn.

    $refs are inlined (the models are not recursive), generated titles dropped, and an optional
    value's ``anyOf [X, null]`` becomes X with ``null`` added to its type (outputs) or just X
    (inputs: leaving an optional field out is how a caller says "none"). Output objects keep
    their properties but not their ``required`` lists: every declared field is always present;
    objects nested in arrays are only typed ``object`` (their fields are in the README's generated
    tool reference) — the full row schemas would triple the bytes of ``tools/list``.
    """
    defs = schema.get("$defs", {})

    def walk(node: Any, top: bool = False, in_array: bool = False) -> Any:
        if isinstance(node, list):
            return [walk(v, in_array=in_array) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return walk(defs[node["$ref"].rsplit("/", 1)[-1]], in_array=in_array)
        if output and in_array and node.get("type") == "object":
            return {"type": "object"}
        variants = node.get("anyOf")
        if isinstance(variants, list) and len(variants) == 2 and {"type": "null"} in variants:
            (inner,) = [walk(v, in_array=in_array) for v in variants if v != {"type": "null"}]
            extra = {k: walk(v) for k, v in node.items() if k not in {"anyOf", "default", "title"}}
            if output and isinstance(inner.get("type"), str):
                inner = {**inner, "type": [inner["type"], "null"]}
            elif output:
                return {"anyOf": [inner, {"type": "null"}], **extra}
            return {**inner, **extra}
        out = {}
        for key, value in node.items():
            if key in {"$defs", "title"} or (key == "default" and value is None):
                continue
            if key == "required" and output and not top:
                continue
            if key == "properties":
                out[key] = {name: walk(prop, in_array=in_array) for name, prop in value.items()}
            elif key == "items":
                out[key] = walk(value, in_array=True)
            else:
                out[key] = walk(value, in_array=in_array)
        return out

    compacted: dict[str, Any] = walk(schema, top=True)
    return compacted

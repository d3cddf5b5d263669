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
        return ToolAnnotations(
            title=self.title,
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
        schema: dict[str, Any] = compact_schema(self.params.model_json_schema())
        return schema

    @cached_property
    def output_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = compact_schema(self.envelope.model_json_schema(mode="serialization"))
        return schema


def compact_schema(schema: Any) -> Any:
    """Drop the auto-generated ``title`` of every property: it repeats the key and costs context."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: _untitled(compact_schema(prop)) for name, prop in value.items()}
            elif key == "$defs" and isinstance(value, dict):
                out[key] = {name: compact_schema(d) for name, d in value.items()}
            else:
                out[key] = compact_schema(value)
        return out
    if isinstance(schema, list):
        return [compact_schema(v) for v in schema]
    return schema


def _untitled(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: v for k, v in schema.items() if k != "title"}
    return schema

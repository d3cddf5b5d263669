"""The tool catalog: the one declaration of every tool, assembled from one module per area."""

from __future__ import annotations

from klaviyo_analytics.tools import entries
from klaviyo_analytics.tools.spec import ToolSpec

CATALOG: tuple[ToolSpec, ...] = entries.all_tools()


def visible_tools(read_only: bool) -> tuple[ToolSpec, ...]:
    """The tools a server offers; READ_ONLY hides everything that could change anything."""
    return tuple(spec for spec in CATALOG if spec.read_only or not read_only)


def get_tool(name: str) -> ToolSpec:
    for spec in CATALOG:
        if spec.name == name:
            return spec
    raise KeyError(name)

"""The tool catalog: the one declaration of every tool, assembled from one module per area."""

from __future__ import annotations

from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.tools import entries
from klaviyo_analytics.tools.spec import ToolSpec

CATALOG: tuple[ToolSpec, ...] = entries.all_tools()


# Always offered: which accounts there are is the first question of every other tool.
ALWAYS = "accounts"


def toolsets() -> tuple[str, ...]:
    return tuple(dict.fromkeys(spec.toolset for spec in CATALOG))


def visible_tools(read_only: bool, only: tuple[str, ...] = ()) -> tuple[ToolSpec, ...]:
    """The tools a server offers; KLAVIYO_MCP_READ_ONLY hides everything that could change anything, and
    KLAVIYO_MCP_TOOLSETS (``only``) keeps a client's tools/list to the areas it needs."""
    unknown = sorted(set(only) - set(toolsets()))
    if unknown:
        raise ConfigError(
            f"KLAVIYO_MCP_TOOLSETS names unknown toolsets {', '.join(unknown)}; known: {', '.join(toolsets())}",
            setting="KLAVIYO_MCP_TOOLSETS",
        )
    keep = set(only) | {ALWAYS} if only else set(toolsets())
    return tuple(spec for spec in CATALOG if (spec.read_only or not read_only) and spec.toolset in keep)


def get_tool(name: str) -> ToolSpec:
    for spec in CATALOG:
        if spec.name == name:
            return spec
    raise KeyError(name)

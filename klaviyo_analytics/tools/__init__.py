"""The tool catalog and the adapter-independent way to run a tool."""

from klaviyo_analytics.tools.catalog import CATALOG, get_tool, visible_tools
from klaviyo_analytics.tools.runner import internal_error, run_tool, validate_params
from klaviyo_analytics.tools.spec import ToolSpec

__all__ = ["CATALOG", "ToolSpec", "get_tool", "internal_error", "run_tool", "validate_params", "visible_tools"]

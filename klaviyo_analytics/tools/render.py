"""The text rendering of a tool result, for MCP clients that show the model only text."""

from __future__ import annotations

import json
from typing import Any


def render_result(envelope: dict[str, Any]) -> str:
    lines = [f"warning: {w}" for w in envelope.get("warnings", [])]
    lines.append(json.dumps({"data": envelope["data"], "metadata": envelope["metadata"]}, separators=(",", ":")))
    return "\n".join(lines)


def render_error(error: dict[str, Any]) -> str:
    text = f"{error['code']}: {error['message']}"
    if error.get("details"):
        text += "\n" + json.dumps(error["details"], separators=(",", ":"), default=str)
    return text

"""The floors the product is measured against: the frameworks it is built on, with nothing of ours.

    gunicorn -w 2 "bench.floor_apps:bare_flask()"   # FLOOR_BODY_FILE: the bytes GET /v1/flows returns
    python bench/floor_apps.py mcp                  # a bare MCPServer with one tool, over stdio

The bare Flask app serves the product's own cached ``/v1/flows`` body (read once at start), so
the two differ only in what the product does per request. The bare MCPServer is the same SDK,
one tool, no product code: the start-up the SDK itself costs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def bare_flask() -> Any:
    from flask import Flask, Response  # here, so the bare MCP floor does not import Flask

    body = Path(os.environ["FLOOR_BODY_FILE"]).read_bytes()
    app = Flask("floor")

    @app.get("/v1/flows")
    def flows() -> Response:
        return Response(body, mimetype="application/json")

    return app


def bare_mcp() -> None:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer(name="floor")

    @server.tool()
    def echo(text: str) -> str:
        """Return the text."""
        return text

    server.run("stdio")


if __name__ == "__main__":
    if sys.argv[1:] == ["mcp"]:
        bare_mcp()

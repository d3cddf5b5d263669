from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters.mcp_http.oauth_client import BROWSERS
from tests.adapters.mcp_http.process import McpHttpServer, mcp_http_server


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpHttpServer]:
    """One server process in embedded OAuth mode for the module (login limit high: the flow tests log in often)."""
    with mcp_http_server(
        tmp_path_factory.mktemp("embedded"),
        KLAVIYO_MCP_OAUTH_MODE="embedded",
        KLAVIYO_MCP_OAUTH_LOGIN_RATE_LIMIT="1000/minute",
        KLAVIYO_MCP_REGISTRATION_RATE_LIMIT="1000/minute",
    ) as node:
        yield node


@pytest.fixture(autouse=True)
def close_browsers() -> Iterator[None]:
    yield
    while BROWSERS:
        BROWSERS.pop().close()

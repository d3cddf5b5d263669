"""MCP over stdio: the SDK's stdio transport, plus the two answers it leaves out.

- A line the SDK cannot parse gets a JSON-RPC parse error (``id`` null, code -32700, as JSON-RPC 2.0
  asks) instead of silence: the SDK's reader hands such lines on as exceptions and its dispatcher
  only logs them at debug level.
- A line with a key twice in one object is refused (-32600 naming the key, answering the request's
  id) before the SDK parses it, which would keep the last value — as MCP over HTTP and REST refuse it.

stdout is the JSON-RPC channel: nothing here prints; logs go to stderr. (It drives the SDK's
low-level server, ``_lowlevel_server``, as ``run_stdio_async`` does: the SDK has no public hook for
either answer.)
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import AsyncIterator
from io import TextIOWrapper
from typing import Any, cast

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import PARSE_ERROR, ErrorData, JSONRPCError

from klaviyo_analytics.adapters.jsonrpc import INVALID_REQUEST, duplicate_key, duplicate_key_message, request_id
from klaviyo_analytics.logs import get_logger

log = get_logger("klaviyo_analytics.mcp")

PARSE_ERROR_MESSAGE = "Parse error: the line is not a JSON-RPC 2.0 message; send one JSON object per line"
# Handed to the SDK in place of a refused line: never valid JSON, so its reader passes the relay an
# exception, in order, and the relay answers it from ``refused``.
_REFUSED_LINE = "\x00\n"


class CheckedLines:
    """stdin's lines, each checked for a repeated key before the SDK parses it."""

    def __init__(self, lines: Any) -> None:
        self._lines = lines
        self.refused: deque[tuple[str, str | int | None]] = deque()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._checked()

    async def _checked(self) -> AsyncIterator[str]:
        async for line in self._lines:
            key = duplicate_key(line) if "{" in line else None
            if key is None:
                yield line
                continue
            log.info("mcp.duplicate_key", key=key[:64])
            self.refused.append((key, request_id(line)))
            yield _REFUSED_LINE


def _stdin() -> Any:
    # What the SDK builds itself (UTF-8, invalid bytes replaced); given explicitly, the SDK does not
    # point fd 0 at the null device — nothing this server runs reads stdin.
    return anyio.wrap_file(TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))


async def run_stdio(server: MCPServer) -> None:
    lowlevel = server._lowlevel_server
    lines = CheckedLines(_stdin())
    async with stdio_server(stdin=cast(Any, lines)) as (read_stream, write_stream):
        send, receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)

        async def relay() -> None:
            async with send, read_stream:
                async for item in read_stream:
                    if not isinstance(item, Exception):
                        await send.send(item)
                        continue
                    if lines.refused:
                        key, answer_to = lines.refused.popleft()
                        error = ErrorData(code=INVALID_REQUEST, message=duplicate_key_message(key))
                    else:
                        log.info("mcp.unparseable_line", error_type=type(item).__name__)
                        answer_to, error = None, ErrorData(code=PARSE_ERROR, message=PARSE_ERROR_MESSAGE)
                    await write_stream.send(SessionMessage(JSONRPCError(jsonrpc="2.0", id=answer_to, error=error)))

        async with anyio.create_task_group() as group:
            group.start_soon(relay)
            await lowlevel.run(receive, write_stream, lowlevel.create_initialization_options())
            group.cancel_scope.cancel()

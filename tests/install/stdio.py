"""Talk JSON-RPC to an MCP server started as Claude starts it (a command, from a directory, with `env -i`),
every read bounded: a server that hangs fails the test with its stderr instead of holding the run."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "claude", "version": "1"}}


class StdioServer:
    def __init__(self, command: Sequence[str], env: Mapping[str, str], cwd: Path | str = "/") -> None:
        own_env = [f"{name}={value}" for name, value in env.items()]
        self.process = subprocess.Popen(
            ["env", "-i", *own_env, *command],
            cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.next_id = 1
        threading.Thread(target=self._read, daemon=True).start()
        self.request("initialize", INIT)
        self.notify("notifications/initialized")

    def _read(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")

    def notify(self, method: str) -> None:
        assert self.process.stdin
        self.process.stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}) + "\n")
        self.process.stdin.flush()

    def request(self, method: str, params: Mapping[str, Any], timeout: float = 60) -> dict[str, Any]:
        assert self.process.stdin
        ident, self.next_id = self.next_id, self.next_id + 1
        self.process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params}) + "\n")
        self.process.stdin.flush()
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no answer to {method} within {timeout} s: {self.stop()}") from None
            assert line, f"the server stopped: {self.stop()}"
            message: dict[str, Any] = json.loads(line)
            if message.get("id") == ident:
                return message

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        answer = self.request("tools/call", {"name": tool, "arguments": arguments})
        result: dict[str, Any] = answer["result"]
        return result

    def stop(self) -> str:
        """Close stdin as Claude does when it quits; return stderr."""
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        stderr = self.process.stderr.read() if self.process.stderr else ""
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
        return stderr

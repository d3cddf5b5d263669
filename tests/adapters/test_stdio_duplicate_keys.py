"""server.py over stdio refuses a message with a key twice in one object, as MCP over HTTP and REST do."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.paths import REPO_ROOT
from tests.adapters.test_stdio import stdio_env
from tests.servers import stop_process

pytestmark = pytest.mark.slow

INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}


def test_a_repeated_key_is_refused_naming_it_and_the_session_goes_on(tmp_path: Path) -> None:
    env = stdio_env(tmp_path)
    lines = [
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        # The model's tool call names one tool; a relay that appended a second "name" would run that one.
        '{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": '
        '{"name": "klaviyo_list_accounts", "arguments": {}, "name": "klaviyo_propose_list"}}',
        '{"jsonrpc": "2.0", "id": 3, "method": "tools/list", "method": "tools/call"}',
        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}),
    ]
    proc = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
        text=True,
    )
    assert proc.stdin and proc.stdout
    answers: dict[object, dict[str, Any]] = {}
    try:
        proc.stdin.write("\n".join(lines) + "\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while 4 not in answers and time.monotonic() < deadline:
            line = proc.stdout.readline()  # stdin stays open: EOF would end the session first
            if not line:
                break
            message = json.loads(line)  # only JSON-RPC on stdout
            answers[message.get("id")] = message
    finally:
        proc.stdin.close()
        stop_process(proc)  # type: ignore[arg-type]
        proc.stdout.close()
    for request, key in ((2, "name"), (3, "method")):
        error = answers[request]["error"]
        assert error["code"] == -32600
        assert f"the key '{key}' appears twice" in error["message"]
        assert "result" not in answers[request]
    assert answers[4]["result"]["tools"], "the session goes on after a refused line"
    assert set(answers) == {1, 2, 3, 4}, "nothing but JSON-RPC answers on stdout"

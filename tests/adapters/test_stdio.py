"""server.py as a real subprocess: initialize, tools/list, a call — and nothing but JSON-RPC on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.paths import REPO_ROOT
from tests.helpers import ACME_KEY, ONE_ACCOUNT, write_accounts

pytestmark = pytest.mark.slow


def stdio_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment with one account and nothing of the caller's (HOME and config in ``tmp_path``)."""
    accounts = write_accounts(tmp_path / "accounts.toml", ONE_ACCOUNT)
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(accounts),
        "KLAVIYO_ACME_KEY": ACME_KEY,
        **extra,
    }


def test_stdio_session_speaks_only_json_rpc(tmp_path: Path) -> None:
    env = stdio_env(tmp_path, KLAVIYO_MCP_LOG_LEVEL="DEBUG")
    proc = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        text=True,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    lines: list[str] = []
    got = threading.Event()

    def reader() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if '"id":3' in line.replace(" ", ""):
                got.set()

    threading.Thread(target=reader, daemon=True).start()

    def send(message: dict[str, Any]) -> None:
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]

    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
    send({"id": 1, "method": "initialize", "params": init})
    send({"method": "notifications/initialized"})
    # Lines the SDK cannot parse: each answered with a JSON-RPC parse error, and the session goes on.
    proc.stdin.write('not json\n{"jsonrpc": "2.0", "id": 7}\n{"jsonrpc":"2.0","id":8,"method":"tools/list"\n')
    send({"id": 2, "method": "tools/list"})
    send({"id": 3, "method": "tools/call", "params": {"name": "klaviyo_list_accounts", "arguments": {}}})
    try:
        assert got.wait(20), f"no answer to the call; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
    finally:
        proc.stdin.close()
        proc.wait(10)
    stderr = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    messages = [json.loads(line) for line in lines]  # every stdout line is JSON...
    assert all(m["jsonrpc"] == "2.0" for m in messages)  # ...and JSON-RPC
    by_id = {m["id"]: m for m in messages if "id" in m}
    parse_errors = [m for m in messages if m.get("id", 0) is None]
    assert len(parse_errors) == 3 and all(m["error"]["code"] == -32700 for m in parse_errors)
    assert by_id[1]["result"]["serverInfo"]["name"] == "klaviyo-mcp"
    assert "klaviyo_get_campaign_performance" in {t["name"] for t in by_id[2]["result"]["tools"]}
    assert by_id[3]["result"]["structuredContent"]["data"]["accounts"][0]["name"] == "acme"
    assert "tool.call" in stderr  # logs went to stderr
    assert ACME_KEY not in stderr and ACME_KEY not in "".join(lines)


def test_startup_config_error_exits_non_zero_on_stderr(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(tmp_path / "missing.toml"),
    }
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "server.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("CONFIG_ERROR")

"""The checkout's .mcp.json: portable (no machine's paths) and it starts the server as Claude Code does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

import install
from klaviyo_sandbox import Sandbox
from tests.install.conftest import REPO, accounts_toml


def project_entry() -> dict[str, object]:
    document = json.loads((REPO / ".mcp.json").read_text())
    servers = document["mcpServers"]
    assert list(servers) == [install.SERVER_NAME], "one server, named as install.py names it"
    entry: dict[str, object] = servers[install.SERVER_NAME]
    return entry


def test_mcp_json_points_at_files_of_this_checkout_without_machine_paths() -> None:
    entry = project_entry()
    command, args = entry["command"], entry["args"]
    assert isinstance(command, str) and isinstance(args, list)
    for path in (command, *args):
        assert not Path(path).is_absolute() and not path.startswith("~"), path
        assert ".." not in Path(path).parts and "$" not in path, path
    # Claude Code starts project servers in the project directory: relative paths resolve there.
    assert (REPO / command).is_file() and os.access(REPO / command, os.X_OK)
    assert (REPO / command).parent.parent == REPO / ".venv"
    assert [REPO / a for a in args] == [REPO / "server.py"]


@pytest.mark.slow
def test_claude_code_can_start_the_server_from_it(tmp_path: Path) -> None:
    sandbox = Sandbox()
    (tmp_path / "accounts.toml").write_text(accounts_toml(sandbox))
    entry = project_entry()
    env = {
        "HOME": str(tmp_path),  # no user config of this machine
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(tmp_path / "accounts.toml"),
        "KLAVIYO_MCP_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),
        "KLAVIYO_MCP_LOG_LEVEL": "WARNING",
        **{a.key_env: a.api_key for a in sandbox.accounts},
    }
    params = StdioServerParameters(
        command=str(entry["command"]),
        args=[str(a) for a in entry["args"]],
        env=env,
        cwd=REPO,  # type: ignore[attr-defined]
    )

    async def session() -> tuple[set[str], dict[str, object]]:
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool("klaviyo_list_accounts", {})
            return names, result.structured_content or {}

    names, payload = anyio.run(session)
    assert "klaviyo_get_flows" in names
    assert [a["name"] for a in payload["data"]["accounts"]] == ["acme", "globex"]  # type: ignore[index]

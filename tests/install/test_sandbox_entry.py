"""The newcomer's first step: `install.py --sandbox` from a fresh clone, its entry started as Claude starts it
(from /, with nothing but the entry's own environment) answers about the synthetic accounts, and a few
report questions in a row flow without a minute's wait."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.install.conftest import REPO
from tests.install.stdio import StdioServer
from tests.terminal import run_on_tty, shown_code

PYTHON = str(Path(sys.executable).absolute())  # the venv's interpreter, as install.py prints it


def printed_entry(stdout: str, name: str) -> dict[str, Any]:
    document, _ = json.JSONDecoder().raw_decode(stdout[stdout.index("{") :])
    entry: dict[str, Any] = document["mcpServers"][name]
    return entry


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This branch as `git clone` gives it: nothing untracked, nothing beside it."""
    clone = tmp_path_factory.mktemp("clone") / "klaviyo-mcp"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", f"file://{REPO}", str(clone)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return clone


@pytest.mark.slow
def test_the_sandbox_entry_answers_from_root_with_an_empty_environment(fresh_clone: Path, tmp_path: Path) -> None:
    desktop, project = tmp_path / "claude_desktop_config.json", tmp_path / "project"
    project.mkdir()
    installed = subprocess.run(
        ["env", "-i", PYTHON, str(fresh_clone / "install.py"), "--sandbox", "--write",
         "--desktop-config", str(desktop), "--project-dir", str(project), "--state-dir", str(tmp_path / "state")],
        cwd="/", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert "synthetic" in installed.stdout and "--time-scale" in installed.stdout
    entry = printed_entry(installed.stdout, "klaviyo-sandbox")
    # What --write installed is what it printed, in both places, with absolute paths only.
    assert json.loads(desktop.read_text())["mcpServers"]["klaviyo-sandbox"] == entry
    assert json.loads((project / ".mcp.json").read_text())["mcpServers"]["klaviyo-sandbox"] == entry
    assert Path(entry["command"]).is_absolute() and Path(entry["env"]["PYTHONPATH"]) == fresh_clone

    server = StdioServer([entry["command"], *entry["args"]], entry["env"], cwd="/")
    try:
        accounts = server.call("klaviyo_list_accounts")["structuredContent"]["data"]["accounts"]
        assert [a["name"] for a in accounts] == ["acme", "globex"]
        assert all("synthetic" in a["label"] for a in accounts)
        # Four report questions in a row: at Klaviyo's real windows the fourth waits about a minute.
        for timeframe in ("last_30_days", "last_90_days", "last_365_days", "last_month"):
            answer = server.call("klaviyo_get_campaign_performance", account="acme", timeframe=timeframe)
            assert not answer.get("isError"), answer
            assert "campaigns" in answer["structuredContent"]["data"], timeframe
        approve_as_printed(server, tmp_path)
    finally:
        stderr = server.stop()
    assert server.process.returncode == 0, stderr
    assert "synthetic" in stderr


def approve_as_printed(server: StdioServer, tmp_path: Path) -> None:
    """The approval command a proposal shows, pasted into a terminal elsewhere (cwd /tmp, a bare environment):
    it reaches the server's ledger, and the server then executes the change."""
    proposed = server.call("klaviyo_propose_create_list", account="acme", name="Tried in Claude")
    view = proposed["structuredContent"]["data"]
    command = re.search(r"`([^`]*actions approve [^`]*)`", view["approve"])
    assert command, view["approve"]
    assert "/console/" not in view["approve"], "no console serves the sandbox's ledger: no link to one"
    line = f"cd /tmp && {command.group(1)} --as alice --reason tried"
    code, text = run_on_tty(["sh", "-c", line], {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, shown_code)
    assert code == 0 and f"{view['action_id']} approved by alice" in text, text
    ran = server.call("klaviyo_execute_action", action_id=view["action_id"])
    assert not ran.get("isError") and ran["structuredContent"]["data"]["status"] == "succeeded", ran


def test_the_sandbox_entry_refuses_a_time_scale_that_would_not_scale(capsys: pytest.CaptureFixture[str]) -> None:
    import install

    assert install.main(["--sandbox", "--time-scale", "0"]) == 1
    assert "--time-scale must be above 0" in capsys.readouterr().err

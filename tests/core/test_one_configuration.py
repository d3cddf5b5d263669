"""Every way of starting the product reads the configuration install.py wrote — KLAVIYO_MCP_CONFIG_DIR, else
the per-user default — or refuses with one line naming the file it looked for (gunicorn's master:
tests/deploy/test_gunicorn_preflight.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from klaviyo_analytics.paths import REPO_ROOT

STARTS = {
    "server.py (stdio)": [str(REPO_ROOT / "server.py")],
    "the CLI (digest)": ["-m", "klaviyo_analytics", "digest"],
}


@pytest.mark.parametrize("argv", list(STARTS.values()), ids=list(STARTS))
@pytest.mark.parametrize("via", ["KLAVIYO_MCP_CONFIG_DIR", "per-user default"])
def test_a_missing_accounts_file_is_one_line_naming_where_it_looked(tmp_path: Path, argv: list[str], via: str) -> None:
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "PATH": "/usr/bin:/bin"}
    expected = tmp_path / "xdg" / "klaviyo-mcp" / "accounts.toml"
    if via == "KLAVIYO_MCP_CONFIG_DIR":
        env["KLAVIYO_MCP_CONFIG_DIR"] = str(tmp_path / "mine")
        expected = tmp_path / "mine" / "accounts.toml"
    done = subprocess.run(
        [sys.executable, *argv], cwd="/", env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CONFIG_ERROR: no accounts.toml found"), done.stderr
    assert f"searched {expected}," in lines[0]

"""The checkout ships no .mcp.json: a relative command breaks when Claude Code starts from another directory,
so `install.py --write --project-dir DIR` writes one with this machine's absolute paths (tested in
test_sandbox_entry.py and test_install.py), and git ignores it."""

from __future__ import annotations

import subprocess

from tests.install.conftest import REPO


def test_no_mcp_json_is_tracked_and_a_generated_one_is_ignored() -> None:
    tracked = subprocess.run(["git", "ls-files", ".mcp.json"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert tracked.returncode == 0 and tracked.stdout == ""
    ignored = subprocess.run(["git", "check-ignore", "-q", ".mcp.json"], cwd=REPO, timeout=30)
    assert ignored.returncode == 0

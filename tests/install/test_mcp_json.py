"""The checkout ships no .mcp.json and no loadable accounts.toml. A relative .mcp.json command broke when
Claude Code started elsewhere, so `install.py --write --project-dir DIR` writes one with this machine's
absolute paths (tested in test_sandbox_entry.py and test_install.py), and git ignores it."""

from __future__ import annotations

import subprocess

from tests.install.conftest import REPO


def test_no_mcp_json_is_tracked_and_a_generated_one_is_ignored() -> None:
    tracked = subprocess.run(["git", "ls-files", ".mcp.json"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert tracked.returncode == 0 and tracked.stdout == ""
    ignored = subprocess.run(["git", "check-ignore", "-q", ".mcp.json"], cwd=REPO, timeout=30)
    assert ignored.returncode == 0


def test_the_checkout_ships_no_account_settings_that_load() -> None:
    """A root accounts.toml (with a fake metric id) was loaded whenever no per-user one existed."""
    import tomllib

    from klaviyo_analytics.klaviyo.accounts import parse_accounts

    tracked = subprocess.run(["git", "ls-files", "accounts.toml"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert tracked.stdout == ""
    ignored = subprocess.run(["git", "check-ignore", "-q", "accounts.toml"], cwd=REPO, timeout=30)
    assert ignored.returncode == 0
    example = tomllib.loads((REPO / "accounts.example.toml").read_text(encoding="utf-8"))
    accounts = parse_accounts(example, {"KLAVIYO_ACME_KEY": "pk_example_key_0000"})
    assert accounts["acme"].conversion_metric_id is None  # no made-up metric id to fail reports

"""``python -m klaviyo_analytics --help`` lists every command, one line each, and every command the
package defines is reachable from it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from klaviyo_analytics.__main__ import COMMANDS, PROG
from klaviyo_analytics.paths import REPO_ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80"}  # argparse wraps at the terminal's width
    return subprocess.run(
        [sys.executable, "-m", "klaviyo_analytics", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_help_lists_every_command_on_one_line() -> None:
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    for command in COMMANDS:
        assert re.search(rf"^    {command.name} +{re.escape(command.help)}$", done.stdout, re.M), command.name


def test_every_cli_in_the_package_is_a_registered_command() -> None:
    """A parser named ``python -m klaviyo_analytics <name>`` anywhere in the package must be in COMMANDS."""
    declared = set()
    for path in (REPO_ROOT / "klaviyo_analytics").rglob("*.py"):
        declared |= set(re.findall(rf'prog="{PROG} ([a-z-]+)', path.read_text(encoding="utf-8")))
    registered = {c.name for c in COMMANDS}
    assert declared and declared <= registered, declared - registered


def test_each_command_reaches_its_own_parser() -> None:
    for command in COMMANDS:
        done = _run(command.name, "--help")
        assert done.returncode == 0, (command.name, done.stderr)
        assert done.stdout.startswith(f"usage: {PROG} {command.name}"), done.stdout


def test_an_unknown_command_names_the_known_ones() -> None:
    done = _run("bogus")
    assert done.returncode == 2
    assert all(f"'{c.name}'" in done.stderr for c in COMMANDS), done.stderr

"""Started by an interpreter without the project's packages (the system python3), server.py and the CLI say
in one line which interpreter to use, instead of a bare ModuleNotFoundError."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from klaviyo_analytics.paths import REPO_ROOT

VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"


def bare_python(tmp_path: Path) -> str:
    """A python with only the standard library: the system one, without user site-packages."""
    found = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    assert found, "no system python3"
    probe = subprocess.run([found, "-s", "-c", "import anyio"], capture_output=True, timeout=30)
    if probe.returncode == 0:
        pytest.fail(f"{found} has the project's packages; this test needs one without them")
    return found


@pytest.mark.parametrize("command", [["server.py"], ["-m", "klaviyo_analytics", "actions", "list"]])
def test_the_wrong_interpreter_is_named_with_the_right_one(tmp_path: Path, command: list[str]) -> None:
    done = subprocess.run(
        ["env", "-i", bare_python(tmp_path), "-s", *command],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "lacks the project's packages" in lines[0] and lines[0].endswith(f"use {VENV_PYTHON}")

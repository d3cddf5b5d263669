"""The venv bootstrap as a stranger runs it: a brand-new venv that starts with the interpreter's bundled
pip, never one carried over from an earlier run (that is what hid a rotted lock once).

The full install is real (the package index or the machine's pip cache), so these are slow tests; they
are the guard that fails if the installer pin is removed or the lock stops installing with it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "bootstrap-venv.sh"
BOOTSTRAP_LOCK = REPO / "requirements-bootstrap.txt"
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable))


def locked_version(lock: Path, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)", lock.read_text(), re.M)
    assert match, f"{name} is not pinned in {lock.name}"
    return match.group(1)


def run_bootstrap(venv: Path, lock: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PY": str(BASE_PYTHON)}
    return subprocess.run(
        ["bash", str(SCRIPT), str(venv), str(lock)], cwd=REPO, env=env, capture_output=True, text=True, timeout=540
    )


def venv_pip_version(venv: Path) -> str:
    out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"], capture_output=True, text=True)
    return out.stdout.split()[1]


def test_the_bootstrap_pin_is_the_locks_pip_with_hashes() -> None:
    lock_pin = locked_version(REPO / "requirements.txt", "pip")
    assert locked_version(BOOTSTRAP_LOCK, "pip") == lock_pin
    assert BOOTSTRAP_LOCK.read_text().count("--hash=sha256:") >= 1
    # make lock writes it from the lock; a hand edit that drifts shows up here.
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import bootstrap_pin

        assert bootstrap_pin.render((REPO / "requirements.txt").read_text()) == BOOTSTRAP_LOCK.read_text()
    finally:
        sys.path.remove(str(REPO / "scripts"))


@pytest.mark.slow
def test_a_brand_new_venv_with_the_bundled_pip_installs_the_lock(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # Exactly what a user's machine starts with: the interpreter's bundled pip, no upgrade.
    subprocess.run([str(BASE_PYTHON), "-m", "venv", str(venv)], check=True, timeout=120)
    bundled = venv_pip_version(venv)
    done = run_bootstrap(venv, REPO / "requirements.txt")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (venv / ".installed").is_file()
    assert venv_pip_version(venv) == locked_version(BOOTSTRAP_LOCK, "pip"), f"bundled pip was {bundled}"
    check = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    # The package whose extra rotted the lock once is the locked version, not the newest.
    frozen = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True
    ).stdout.lower()
    assert f"coverage=={locked_version(REPO / 'requirements.txt', 'coverage')}" in frozen


@pytest.mark.slow
def test_a_failed_install_is_rebuilt_not_reused(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    bad_lock = tmp_path / "bad.txt"
    bad_lock.write_text("six==1.16.0 --hash=sha256:" + "0" * 64 + "\n")
    failed = run_bootstrap(venv, bad_lock)
    assert failed.returncode == 1
    assert "bootstrap failed: the locked requirements" in failed.stderr
    assert "run the same make command again" in failed.stderr
    assert not venv.exists(), "a half-built venv must not be left to be reused"

    # A venv whose stamp is missing (an interrupted install) is thrown away before the next install
    # (without pip: the script must discard it whatever it holds).
    subprocess.run([str(BASE_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    marker = venv / "left-over"
    marker.write_text("from an interrupted run")
    good_lock = tmp_path / "good.txt"
    shutil.copy(BOOTSTRAP_LOCK, good_lock)
    done = run_bootstrap(venv, good_lock)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not marker.exists()
    assert (venv / ".installed").is_file()
    # The checkout is on the venv's import path, so `<venv>/bin/python -m klaviyo_analytics …` (the approve
    # command a proposal prints) runs from any directory.
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import klaviyo_analytics; print(klaviyo_analytics.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert found.returncode == 0 and found.stdout.strip() == str(REPO / "klaviyo_analytics" / "__init__.py")


def test_an_interpreter_that_is_too_old_gets_a_clear_message(tmp_path: Path) -> None:
    fake = tmp_path / "python-old"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    done = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "venv")], cwd=REPO, env={**os.environ, "PY": str(fake)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "older than Python 3.11" in done.stderr and "PY=" in done.stderr

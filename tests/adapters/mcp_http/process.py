"""server.py --transport streamable-http as a real process on loopback, in front of the sandbox."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from klaviyo_analytics.auth.users import hash_password
from klaviyo_sandbox import Sandbox, serve
from tests.reliability.harness import REPO, environment, free_port, machine, make_sandbox

PASSWORDS = {"alice": "alice-login-passw0rd-e2e", "bob": "bob-login-passw0rd-e2e"}
ALICE_TOKEN = "alice-static-token-for-mcp-http-0001"


def users_toml(accounts: list[str]) -> str:
    """alice approves on the first account and reads the second; bob reads the first only."""
    first, second = accounts[0], accounts[1]
    return f"""[users.alice]
password_hash = "{hash_password(PASSWORDS["alice"])}"
tokens_env = ["ALICE_TOKEN"]
grants = {{ {first} = "approver", {second} = "reader" }}

[users.bob]
password_hash = "{hash_password(PASSWORDS["bob"])}"
grants = {{ {first} = "reader" }}
"""


@dataclass
class McpHttpServer:
    url: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    stderr_path: Path
    sandbox: Sandbox

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def server_argv(port: int) -> list[str]:
    """The command docs/remote-mcp-and-oauth.md "Connect Claude's custom connector" shows, on a free port."""
    return [
        sys.executable,
        str(REPO / "server.py"),
        "--transport",
        "streamable-http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def wait_until_up(url: str, proc: subprocess.Popen[bytes], stderr: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {stderr.read_text()[-2000:]}")
        try:
            httpx.get(url + "/.well-known/oauth-protected-resource/mcp", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"server did not start: {stderr.read_text()[-2000:]}")


@contextmanager
def mcp_http_server(directory: Path, port: int | None = None, **extra: str) -> Iterator[McpHttpServer]:
    sb = make_sandbox()
    accounts = [a.slug for a in sb.accounts]
    with serve(sb) as base_url:
        port = port or free_port()
        (directory / "users.toml").parent.mkdir(parents=True, exist_ok=True)
        (directory / "users.toml").write_text(users_toml(accounts))
        env = {
            **machine(directory),
            "KLAVIYO_MCP_LOG_LEVEL": "DEBUG",
            "KLAVIYO_MCP_USERS_FILE": str(directory / "users.toml"),
            "ALICE_TOKEN": ALICE_TOKEN,
            # With KLAVIYO_MCP_LEDGER_URL the OAuth state lives in that PostgreSQL database instead.
            **(
                {}
                if "KLAVIYO_MCP_LEDGER_URL" in extra
                else {"KLAVIYO_MCP_OAUTH_STATE_PATH": str(directory / "oauth" / "oauth.sqlite3")}
            ),
            **environment(sb, directory, base_url, KLAVIYO_MCP_REST_API_KEY="", **extra),
        }
        stderr_path = directory / "mcp-http.stderr"
        with stderr_path.open("wb") as stderr:
            proc = subprocess.Popen(
                server_argv(port),
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                env=env,
                cwd=directory,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, proc, stderr_path)
            yield McpHttpServer(url, env, proc, stderr_path, sb)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

"""The product as deployed on one machine, for the cross-process tests: the Klaviyo sandbox served
on loopback, ``gunicorn -w 2 "api:create_app()"`` on a loopback port, and ``server.py`` over
stdio (``mcp.Client``), all three sharing one KLAVIYO_MCP_LEDGER_PATH.

Every process logs to a file in the test's directory (the secrets sweep reads them all); gunicorn's
access log and a ``pre_request`` hook name the worker pid of each request, so a test can kill the
worker that is executing. ``stop()`` ends every process the cluster started, by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import anyio.from_thread
import httpx
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from klaviyo_analytics.actions import SqliteLedger, utc_now
from klaviyo_analytics.actions.backends import open_ledger
from klaviyo_analytics.config import load_settings
from klaviyo_sandbox import Sandbox, serve
from tests.actions.ledger_helpers import raw_ledger
from tests.reliability.harness import REPO, environment, free_port, machine

REST_TOKEN = "rest-token-reliability-0001"
APPROVER_TOKEN = "approver-token-reliability-0001"
GUNICORN_CONF = """
def pre_request(worker, req):
    worker.log.info("request-start pid=%s %s %s", worker.pid, req.method, req.path)
"""


@dataclass
class McpProcess:
    """``server.py`` over stdio, driven from a blocking portal (the client is async)."""

    env: dict[str, str]
    errlog: Path
    portal: Any = None
    client: Any = None
    _portal_cm: Any = None
    _client_cm: Any = None
    _errfile: IO[str] | None = None

    def start(self) -> McpProcess:
        self._errfile = self.errlog.open("a", encoding="utf-8")
        params = StdioServerParameters(command=sys.executable, args=[str(REPO / "server.py")], env=self.env, cwd=REPO)
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self._client_cm = self.portal.wrap_async_context_manager(Client(stdio_client(params, errlog=self._errfile)))
        self.client = self._client_cm.__enter__()
        return self

    def call(self, tool: str, **args: Any) -> tuple[dict[str, Any], str, bool]:
        """(structured content, text, is_error)."""
        result = self.portal.call(self.client.call_tool, tool, args)
        text = "".join(getattr(block, "text", "") for block in result.content)
        return result.structured_content or {}, text, bool(result.is_error)

    def stop(self) -> None:
        # A server killed under the client breaks its streams: closing may then raise; that is fine.
        with contextlib.suppress(Exception):
            if self._client_cm is not None:
                self._client_cm.__exit__(None, None, None)
        with contextlib.suppress(Exception):
            if self._portal_cm is not None:
                self._portal_cm.__exit__(None, None, None)
        self._client_cm = self._portal_cm = None
        if self._errfile is not None:
            self._errfile.close()
            self._errfile = None


@dataclass
class Cluster:
    sb: Sandbox
    directory: Path
    env: dict[str, str]
    rest_url: str = ""
    gunicorn: subprocess.Popen[bytes] | None = None
    mcp: McpProcess | None = None
    rest_token: str = REST_TOKEN
    approver_token: str = APPROVER_TOKEN
    started: list[int] = field(default_factory=list)  # pids of every process started, for the report

    # -- logs ---------------------------------------------------------------------------------------

    @property
    def log_dir(self) -> Path:
        return self.directory / "logs"

    def log_files(self) -> list[Path]:
        return sorted(p for p in self.log_dir.iterdir() if p.is_file())

    def worker_of(self, method: str, path: str) -> list[int]:
        """Pids of the gunicorn workers that started ``method path`` (pre_request hook lines)."""
        pids = []
        for line in (self.log_dir / "gunicorn.err").read_text(encoding="utf-8", errors="replace").splitlines():
            if "request-start pid=" in line and line.rstrip().endswith(f" {method} {path}"):
                pids.append(int(line.split("request-start pid=", 1)[1].split()[0]))
        return pids

    def access_pids(self, path_part: str) -> set[int]:
        pids = set()
        for line in (self.log_dir / "access.log").read_text(encoding="utf-8", errors="replace").splitlines():
            pid, _, request = line.partition(" ")  # "<pid> METHOD /path status"
            if path_part in request and pid.strip("<>").isdigit():
                pids.add(int(pid.strip("<>")))
        return pids

    # -- the processes ------------------------------------------------------------------------------

    def start_gunicorn(self) -> None:
        conf = self.directory / "gunicorn_conf.py"
        conf.write_text(GUNICORN_CONF)
        port = free_port()
        self.rest_url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "-c", str(conf),
            "--chdir", str(REPO), "--log-level", "info", "--access-logfile", str(self.log_dir / "access.log"),
            "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "--timeout", "60", "api:create_app()",
        ]  # fmt: skip
        with (self.log_dir / "gunicorn.out").open("ab") as out, (self.log_dir / "gunicorn.err").open("ab") as err:
            self.gunicorn = subprocess.Popen(command, env=self.env, stdout=out, stderr=err, cwd=REPO)
        self.started.append(self.gunicorn.pid)
        deadline = time.monotonic() + 30
        while True:
            assert self.gunicorn.poll() is None, (self.log_dir / "gunicorn.err").read_text()
            try:
                if httpx.get(f"{self.rest_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.1)
        self.wait_for_workers(2)

    def workers(self) -> list[int]:
        assert self.gunicorn is not None
        return children(self.gunicorn.pid)

    def wait_for_workers(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.workers()) < count:
            assert time.monotonic() < deadline, "gunicorn workers did not come up"
            time.sleep(0.05)

    def start_mcp(self) -> McpProcess:
        before = set(children(os.getpid()))
        self.mcp = McpProcess(self.env, self.log_dir / "mcp.err").start()
        self.started += [pid for pid in children(os.getpid()) if pid not in before]
        return self.mcp

    def mcp_pid(self) -> int:
        """The server.py process of the current MCP client."""
        found = [pid for pid in children(os.getpid()) if "server.py" in cmdline(pid)]
        assert len(found) == 1, found
        return found[0]

    def stop(self) -> None:
        if self.mcp is not None:
            self.mcp.stop()
            self.mcp = None
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGTERM)  # the master stops its workers
            try:
                self.gunicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for pid in [*self.workers(), self.gunicorn.pid]:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.gunicorn.wait(timeout=10)

    # -- talking to it ------------------------------------------------------------------------------

    def rest(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.rest_token}", **kw.pop("headers", {})}
        with httpx.Client(base_url=self.rest_url, timeout=60) as http:
            return http.request(method, path, headers=headers, **kw)

    def approve(self, action_id: str) -> httpx.Response:
        # The plan_hash the approver reads, as a reviewer would (GET the action, then approve it).
        shown = self.rest("GET", f"/v1/actions/{action_id}", self.approver_token).json()["data"]["plan_hash"]
        response = self.rest(
            "POST", f"/v1/actions/{action_id}/approve", self.approver_token,
            json={"reason": "reviewed", "plan_hash": shown},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return response

    def ledger(self) -> SqliteLedger:
        """The ledger these processes share, opened as the product opens it from their settings."""
        return open_ledger(load_settings(self.env, use_dotenv=False))

    def run_out_leases(self, action_ids: list[str]) -> None:
        """Move these executions' lease expiries a second into the past: what waiting out the lease
        (tool deadline + 30 s) would do, without the wait. Only for executors that are dead."""
        lapsed = (utc_now() - timedelta(seconds=1)).isoformat()
        with raw_ledger(self.ledger()) as conn:
            for action_id in action_ids:
                conn.execute("UPDATE executions SET lease_expires_at = ? WHERE proposal_id = ?", (lapsed, action_id))


@contextmanager
def cluster(sb: Sandbox, directory: Path, *, with_mcp: bool = True, **extra: str) -> Iterator[Cluster]:
    """The sandbox, gunicorn (2 workers) and server.py over stdio, sharing one ledger.

    Each cluster has its own directory (home, config, data dirs): two of them are two machines
    that share only what ``extra`` points both at (a Redis quota store, a PostgreSQL ledger).
    """
    with serve(sb) as base_url:
        settings = {
            "KLAVIYO_MCP_REST_API_KEY": REST_TOKEN,
            "KLAVIYO_MCP_APPROVER_TOKENS": APPROVER_TOKEN,
            "KLAVIYO_MCP_REST_RATE_LIMIT": "100000/minute",
        }
        env = {**machine(directory), **environment(sb, directory, base_url, **{**settings, **extra})}
        node = Cluster(
            sb,
            directory,
            env,
            rest_token=env["KLAVIYO_MCP_REST_API_KEY"],
            approver_token=env["KLAVIYO_MCP_APPROVER_TOKENS"],
        )
        node.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            node.start_gunicorn()
            if with_mcp:
                node.start_mcp()
            yield node
        finally:
            node.stop()


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)

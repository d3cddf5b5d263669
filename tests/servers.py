"""Real servers for tests, each started on a free loopback port with a throwaway data dir, and stopped.

Only Debian's binaries are used (``.ci/run`` and scripts/install-test-services.sh install them);
a test that needs one skips with a clear message when the binary is absent — except in CI
(``CI=true``), where a missing server fails the test, so a green run always means it ran.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.server_report import MISSING_SERVER

REDIS_SERVER = "/usr/bin/redis-server"


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds; always reaped."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def missing(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI installs it with scripts/install-test-services.sh", pytrace=False)
    pytest.skip(MISSING_SERVER + message)  # counted at the end of the run (tests/server_report.py)


START_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or REDIS_SERVER
        if not Path(binary).exists():
            missing("redis-server is not installed (apt-get install redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRES_USER = "klaviyo"


class PostgresServer:
    """A throwaway PostgreSQL cluster. postgres refuses to run as root, so the cluster belongs to
    the ``postgres`` OS user (Debian's package makes it) when the tests run as root."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> None:
        if not (POSTGRES_BIN / "initdb").exists():
            missing(f"PostgreSQL is not installed ({POSTGRES_BIN}/initdb; apt-get install postgresql)")
        if os.geteuid() == 0:
            # The owner must reach its data dir: a directory of its own directly under /tmp, not one
            # inside pytest's 0700 tree (which every pytest session starting resets to 0700).
            self.directory = Path(tempfile.mkdtemp(prefix="klaviyo-mcp-pg-"))
            self.directory.chmod(0o700)
            shutil.chown(self.directory, "postgres", "postgres")
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
        made = subprocess.run(
            [*self._as_owner(), str(POSTGRES_BIN / "initdb"), "-D", str(self.directory), "-A", "trust",
             "-U", POSTGRES_USER, "--no-sync"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed in {self.directory}: {made.stderr.decode(errors='replace')}")
        self.process = subprocess.Popen(
            [*self._as_owner(), str(POSTGRES_BIN / "postgres"), "-D", str(self.directory), "-k", str(self.directory),
             "-h", "127.0.0.1", "-p", str(self.port), "-c", "fsync=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(POSTGRES_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"], check=False
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"postgres did not start on port {self.port}")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return self.url(name)

    def fresh_database(self, prefix: str = "t") -> str:
        """A new, empty database: how tests share one server without sharing state."""
        return self.create_database(f"{prefix}_{uuid.uuid4().hex[:16]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # the runuser child forwards SIGTERM: a smart shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if os.geteuid() == 0 and self.directory.name.startswith("klaviyo-mcp-pg-"):
            shutil.rmtree(self.directory, ignore_errors=True)  # ours, outside pytest's tree


@contextmanager
def postgres_server(directory: Path) -> Iterator[PostgresServer]:
    server = PostgresServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()

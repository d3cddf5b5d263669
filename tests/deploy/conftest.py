"""Docker without a Docker engine: the Dockerfile parsed, its build context rebuilt in a temporary
directory, and its commands run on loopback with free ports."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import stop_process

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
# The compose demo's sandbox image: the emulator never ships in the runtime image.
SANDBOX_DOCKERFILE = REPO / "sandbox.Dockerfile"
VENV_BIN = Path(sys.executable).parent
REST_TOKEN = "rest-token-deploy-tests-01"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    @property
    def exec_form(self) -> list[str]:
        """The JSON array of a CMD/ENTRYPOINT/RUN in exec form."""
        parsed = json.loads(self.arguments)
        assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed), self.arguments
        return parsed


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    found, pending = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), rest.strip()))
        pending = ""
    return found


def only(keyword: str) -> Instruction:
    matching = [i for i in instructions() if i.keyword == keyword]
    assert len(matching) == 1, f"expected one {keyword}, found {len(matching)}"
    return matching[0]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in instructions():
        if instruction.keyword == "ENV":
            for pair in instruction.arguments.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def copied_sources(path: Path = DOCKERFILE) -> list[str]:
    sources = []
    for instruction in instructions(path):
        if instruction.keyword == "COPY":
            parts = [p for p in instruction.arguments.split() if not p.startswith("--")]
            sources += [p.rstrip("/") for p in parts[:-1]]
    return sources


def healthcheck_command() -> list[str]:
    arguments = only("HEALTHCHECK").arguments
    return Instruction("CMD", arguments[arguments.index("CMD ") + 4 :]).exec_form


def image_dir(root: Path, dockerfile: Path) -> Path:
    """/app as an image has it: exactly what its Dockerfile copies, without bytecode caches."""
    app = root / "app"
    app.mkdir()
    for source in copied_sources(dockerfile):
        origin = REPO / source
        if origin.is_dir():
            shutil.copytree(origin, app / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, app / source)
    return app


@pytest.fixture(scope="session")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/app of the runtime image (Dockerfile)."""
    return image_dir(tmp_path_factory.mktemp("image"), DOCKERFILE)


@pytest.fixture(scope="session")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/app of the compose demo's sandbox image (sandbox.Dockerfile)."""
    return image_dir(tmp_path_factory.mktemp("sandbox-image"), SANDBOX_DOCKERFILE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def replace_one(argv: Sequence[str], old: str, new: str) -> list[str]:
    assert list(argv).count(old) == 1, f"{old!r} must appear exactly once in {argv}"
    return [new if a == old else a for a in argv]


def base_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a container: the venv's bin on PATH, a home of its own, nothing of this machine's."""
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_DATA_HOME": str(tmp / "data"),
        **extra,
    }


def http_request(
    url: str, headers: Mapping[str, str] | None = None, body: object = None, method: str | None = None
) -> tuple[int, bytes]:
    """One request to a loopback server: (status, body), whatever the status."""
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "http" and parts.hostname == "127.0.0.1", url
    data = json.dumps(body).encode() if body is not None else None
    sent = {**(headers or {}), **({"Content-Type": "application/json"} if data else {})}
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method or ("POST" if data else "GET"), path or "/", body=data, headers=sent)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running(argv: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path, ready_url: str) -> Iterator[Running]:
    """Start a server, wait until ``ready_url`` answers, stop it afterwards."""
    with log.open("wb") as sink:
        process = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdout=sink, stderr=subprocess.STDOUT)
    server = Running(process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"{argv[0]} exited with {process.returncode}:\n{server.output()}"
            try:
                http_request(ready_url)
                break
            except OSError:
                assert time.monotonic() < deadline, f"{ready_url} never answered:\n{server.output()}"
                time.sleep(0.1)
        yield server
    finally:
        stop_process(process)

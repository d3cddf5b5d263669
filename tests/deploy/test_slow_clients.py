"""Slow clients cannot stall the REST API served by the shipped gunicorn.conf.py (gthread workers
with a read deadline), and gunicorn's own errors answer in the API's JSON error shape.

Bounded: every socket has a timeout, every loop a count; the server is ended by SIGTERM."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from klaviyo_analytics.paths import REPO_ROOT
from klaviyo_sandbox import Sandbox, SandboxConfig, serve
from tests.api.rest.live import LIVE_TOKEN, free_port, server_environment, wait_ready
from tests.servers import stop_process

READ_SECONDS = 2  # the deadline this test's server gets (KLAVIYO_MCP_GUNICORN_READ_SECONDS)
HEALTH_BOUND = 5.0  # seconds a /health call may take here; with sync workers it took 31.9 s


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("slow")
    sandbox = Sandbox(SandboxConfig(seed=11, time_scale=0.001))
    with serve(sandbox) as base_url:
        env = server_environment(directory, sandbox, base_url, KLAVIYO_MCP_GUNICORN_READ_SECONDS=str(READ_SECONDS))
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                   "api:create_app()"]  # fmt: skip
        log = directory / "gunicorn.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=sink, stderr=sink)
        try:
            wait_ready(f"http://127.0.0.1:{port}", process, log)
            yield f"127.0.0.1:{port}"
        finally:
            stop_process(process)


def connect(address: str) -> socket.socket:
    host, port = address.split(":")
    return socket.create_connection((host, int(port)), timeout=READ_SECONDS + 10)


def answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The whole answer of a Connection: close response (status, headers, body)."""
    data = b""
    for _ in range(1000):  # bounded: the socket has a timeout, and this a count
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def test_half_sent_requests_do_not_stall_health_and_run_out_of_time_with_a_json_408(served: str) -> None:
    with ExitStack() as stack:
        # More half-sent requests than one worker has threads: each holds a thread, none a worker.
        slow = [stack.enter_context(connect(served)) for _ in range(10)]
        for sock in slow:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        time.sleep(0.5)  # they are all being read now
        for _ in range(3):
            response = httpx.get(f"http://{served}/health", timeout=HEALTH_BOUND)
            assert response.status_code == 200
        for sock in slow[:2]:
            sock.sendall(b"a")  # trickling a byte keeps no request alive past its deadline
        status, headers, body = answer(slow[0])
        assert status == 408 and headers["content-type"] == "application/json"
        error = json.loads(body)["error"]
        assert error["code"] == "REQUEST_TIMEOUT" and f"within {READ_SECONDS} s" in error["message"]


@pytest.mark.parametrize("token", [LIVE_TOKEN, "not-a-token"])
def test_a_body_that_never_arrives_is_one_json_answer(served: str, token: str) -> None:
    with connect(served) as sock:
        sock.sendall(b"POST /v1/campaigns/performance HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: 100\r\n\r\n{")  # fmt: skip
        status, headers, body = answer(sock)
    # read by the app: 408 from its body read; a stranger's body is never read (refused), and not drained
    assert status == 408 if token == LIVE_TOKEN else status in (401, 403)
    assert headers["content-type"] == "application/json"
    assert set(json.loads(body)["error"]) == {"code", "message", "details"}  # one document, nothing after


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URI_TOO_LONG"),
        (b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n", 431,
         "HEADERS_TOO_LARGE"),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431, "HEADERS_TOO_LARGE"),
        (b"G\x00T /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "INVALID_ARGUMENT"),
        (b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n", 400, "INVALID_ARGUMENT"),
    ],
)  # fmt: skip
def test_gunicorns_own_errors_answer_in_the_json_error_shape(
    served: str, request_bytes: bytes, status: int, code: str
) -> None:
    with connect(served) as sock:
        sock.sendall(request_bytes)
        got, headers, body = answer(sock)
    assert got == status and headers["content-type"] == "application/json", body[:200]
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] == code
    assert "<html" not in body.decode(errors="replace").lower()


def test_the_shipped_config_uses_the_json_thread_worker() -> None:
    text = (Path(REPO_ROOT) / "gunicorn.conf.py").read_text()
    assert 'worker_class = "api.gunicorn_worker.JsonThreadWorker"' in text and "threads = " in text

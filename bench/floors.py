"""The product against its floors, each figure a ratio from one run of alternating A/B rounds.

    .venv/bin/python -m bench.floors [--seconds 3] [--rounds 2] [--starts 5]

A is the product, B its floor (``bench/floor_apps.py``): a bare Flask app serving the same body
on the same gunicorn, a bare MCPServer from the same SDK. A and B alternate round by round so
that a noisy neighbour on the shared 2-core machine hits both alike; the ratio of their medians
is the figure. Counts are modest on purpose (the machine is shared): read ratios, not digits.
Prints markdown (also written to bench/results/floors.md).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.floor_rows import partial_bytes, segment_sizes, warm_call  # noqa: E402
from bench.product import publish, table  # noqa: E402
from klaviyo_sandbox import Sandbox, SandboxConfig, serve  # noqa: E402
from tests.product.conftest import REST_TOKEN, TIME_SCALE, sandbox_service, sandbox_settings  # noqa: E402
from tests.reliability.harness import free_port  # noqa: E402

AUTH = {"Authorization": f"Bearer {REST_TOKEN}"}
FLOWS = "/v1/flows?account=acme"
# The REST limit stays on (it is part of the path measured) but never binds.
UNBOUND_LIMIT = "100000000/minute"


def rest_env(sandbox: Sandbox, directory: Path, base_url: str) -> dict[str, str]:
    settings_env = {
        "KLAVIYO_BASE_URL": base_url,
        "KLAVIYO_MCP_REST_RATE_LIMIT": UNBOUND_LIMIT,
        "KLAVIYO_MCP_LOG_LEVEL": "WARNING",
    }
    sandbox_settings(sandbox, directory, **settings_env)  # writes accounts.toml
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(directory),
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(directory / "accounts.toml"),
        "KLAVIYO_MCP_LEDGER_PATH": str(directory / "ledger.sqlite3"),
        "KLAVIYO_MCP_REST_API_KEY": REST_TOKEN,
        "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": str(TIME_SCALE),
        **settings_env,
        **{a.key_env: a.api_key for a in sandbox.accounts},
    }


@contextmanager
def gunicorn(app: str, env: dict[str, str], chdir: Path = REPO) -> Iterator[int]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir", str(chdir),
               "--log-level", "warning", app]  # fmt: skip
    proc = subprocess.Popen(command, env=env, cwd=chdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while get(port, FLOWS)[0] != 200:
            assert proc.poll() is None and time.monotonic() < deadline, f"{app} did not come up"
            time.sleep(0.2)
        for _ in range(20):  # both workers warm (their caches and memos filled)
            get(port, FLOWS)
        yield port
    finally:
        proc.terminate()
        proc.wait(20)


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers=AUTH)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, body
    except OSError:
        return 0, b""


def load(port: int, clients: int, seconds: float) -> float:
    """Requests per second from ``clients`` threads (new connection per request, as gunicorn's sync
    workers close each one), all answered 200."""
    stop = time.monotonic() + seconds
    counts = [0] * clients
    failures: list[int] = []

    def worker(index: int) -> None:
        while time.monotonic() < stop:
            status, _ = get(port, FLOWS)
            if status != 200:
                failures.append(status)
            counts[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, f"non-200 answers: {failures[:5]}"
    return sum(counts) / (time.monotonic() - started)


def rest_throughput(directory: Path, seconds: float, rounds: int, baseline: Path | None) -> list[list[Any]]:
    sandbox = Sandbox(SandboxConfig(seed=7, time_scale=TIME_SCALE))
    rows = []
    with serve(sandbox) as base_url, ExitStack() as stack:
        env = rest_env(sandbox, directory, base_url)
        port = stack.enter_context(gunicorn("api:create_app()", env))
        body = get(port, FLOWS)[1]
        (directory / "flows.json").write_bytes(body)
        floor = stack.enter_context(
            gunicorn("bench.floor_apps:bare_flask()", {**env, "FLOOR_BODY_FILE": str(directory / "flows.json")})
        )
        before = None
        if baseline is not None:
            (directory / "before").mkdir()
            before_env = rest_env(sandbox, directory / "before", base_url)
            before = stack.enter_context(gunicorn("api:create_app()", before_env, chdir=baseline))
        for clients in (10, 50):
            arms = [partial(load, port, clients, seconds), partial(load, floor, clients, seconds)]
            if before is not None:
                arms.append(partial(load, before, clients, seconds))
            medians = [statistics.median(r) for r in alternate(arms, rounds)]
            note = f" (before: {medians[2] / medians[1]:.2f}×, {medians[2]:,.0f} req/s)" if before is not None else ""
            label = f"cached `GET /v1/flows`, 2 gunicorn workers, {clients} clients (req/s)"
            rows.append([label, f"{medians[0]:,.0f}", f"{medians[1]:,.0f}", f"{medians[0] / medians[1]:.2f}×{note}"])
    return rows


def alternate(arms: list[Callable[[], float]], rounds: int) -> list[list[float]]:
    """Each arm once per round, in turn, so that the machine's noise falls on all of them alike."""
    results: list[list[float]] = [[] for _ in arms]
    for _ in range(rounds):
        for arm, out in zip(arms, results, strict=True):
            out.append(arm())
    return results


def in_process(directory: Path, requests: int, rounds: int) -> list[list[Any]]:
    from flask import Flask, Response

    from api import create_app

    sandbox = Sandbox(SandboxConfig(seed=7, time_scale=TIME_SCALE))
    svc = sandbox_service(
        sandbox, directory, KLAVIYO_MCP_REST_RATE_LIMIT=UNBOUND_LIMIT, KLAVIYO_MCP_LOG_LEVEL="WARNING"
    )
    product = create_app(service=svc).test_client()
    body = product.get(FLOWS, headers=AUTH).data
    bare_app = Flask("floor")
    bare_app.add_url_rule("/v1/flows", "flows", lambda: Response(body, mimetype="application/json"))
    bare = bare_app.test_client()

    def timed(client: Any, path: str, headers: dict[str, str]) -> Callable[[], float]:
        def run() -> float:
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                assert client.get(path, headers=headers).status_code == 200
                times.append(time.perf_counter() - started)
            return statistics.median(times) * 1e6

        return run

    a, b = alternate([timed(product, FLOWS, AUTH), timed(bare, FLOWS, {})], rounds)
    health = timed(product, "/health", {})()
    pa, pb = statistics.median(a), statistics.median(b)
    return [
        ["same request in process (Flask test client, median µs)", f"{pa:.0f}", f"{pb:.0f}", f"{pa / pb:.2f}×"],
        ["`GET /health` in process (median µs; answered from a report ≤ 1 s old)", f"{health:.0f}", "", ""],
    ]


def cold_start(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(seconds to tools/list answered, VmHWM MiB) of one MCP server started over stdio."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, cwd=cwd, env=env)  # fmt: skip
    assert proc.stdin and proc.stdout
    for message in HANDSHAKE:
        proc.stdin.write(json.dumps(message) + "\n")
    proc.stdin.flush()
    elapsed = 0.0
    for line in proc.stdout:
        if '"id":2' in line.replace(" ", ""):
            elapsed = time.perf_counter() - started
            break
    assert elapsed, "no tools/list answer"
    status = Path(f"/proc/{proc.pid}/status").read_text()
    peak = int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024
    proc.stdin.close()
    proc.wait(10)
    proc.stdout.close()
    return elapsed, peak


HANDSHAKE = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]  # fmt: skip


def mcp_start(directory: Path, starts: int, baseline: Path | None) -> list[list[Any]]:
    sandbox = Sandbox(SandboxConfig(seed=7))
    sandbox_settings(sandbox, directory)  # writes accounts.toml
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(directory),
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(directory / "accounts.toml"),
        "KLAVIYO_MCP_LOG_LEVEL": "WARNING",
        **{a.key_env: a.api_key for a in sandbox.accounts},
    }
    arms = {
        "product": ([sys.executable, str(REPO / "server.py")], REPO),
        "floor": ([sys.executable, str(REPO / "bench" / "floor_apps.py"), "mcp"], directory),
    }
    if baseline is not None:
        arms["before"] = ([sys.executable, str(baseline / "server.py")], baseline)
    times: dict[str, list[float]] = {name: [] for name in arms}
    peaks: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(starts):
        for name, (command, cwd) in arms.items():
            seconds, peak = cold_start(command, env, cwd)
            times[name].append(seconds)
            peaks[name].append(peak)
    t = {name: statistics.median(v) for name, v in times.items()}
    m = {name: max(v) for name, v in peaks.items()}
    before_t = f" (before: {t['before'] / t['floor']:.2f}×, {t['before']:.3f} s)" if "before" in t else ""
    before_m = f" (before: {m['before'] / m['floor']:.2f}×, {m['before']:.1f})" if "before" in m else ""
    return [
        ["MCP cold start to `tools/list` answered (median s)", f"{t['product']:.3f}", f"{t['floor']:.3f}",
         f"{t['product'] / t['floor']:.2f}×{before_t}"],
        ["peak RSS of `server.py` (VmHWM, max MiB)", f"{m['product']:.1f}", f"{m['floor']:.1f}",
         f"{m['product'] / m['floor']:.2f}×{before_m}"],
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one load round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per figure")
    parser.add_argument("--starts", type=int, default=5, help="cold starts of each MCP server")
    parser.add_argument("--requests", type=int, default=1000, help="in-process requests per round")
    parser.add_argument(
        "--baseline", type=Path, help="a checkout of the code before (git archive <rev> | tar -x -C DIR): a third arm"
    )
    args = parser.parse_args()
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        steps: list[tuple[str, Callable[[Path], list[list[Any]]]]] = [
            ("rest", lambda d: rest_throughput(d, args.seconds, args.rounds, args.baseline)),
            ("inproc", lambda d: in_process(d, args.requests, args.rounds)),
            ("warm", lambda d: warm_call(d, args.requests)),
            ("start", lambda d: mcp_start(d, args.starts, args.baseline)),
            ("segments", segment_sizes),
            ("partial", partial_bytes),
        ]
        for name, step in steps:
            (root / name).mkdir()
            rows += step(root / name)
    publish("floors", table(rows, ["figure", "product", "floor", "ratio / goal"], align="lrrl") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

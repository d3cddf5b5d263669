"""Two gunicorn workers, one scrape: PROMETHEUS_MULTIPROC_DIR sums every worker's counters."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.conftest import REPO, REST_TOKEN, VENV_BIN, base_env, free_port, http_request, running
from tests.helpers import write_accounts
from tests.readme_recipes import recipe

AUTH = {"Authorization": f"Bearer {REST_TOKEN}"}
CALLS = 12


def tool_calls(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "klaviyo_tool_calls_total" and sample.labels.get("tool") == "klaviyo_list_accounts":
                return sample.value
    return 0.0


def calls_in(db: Path) -> float:
    """One worker's count of the same calls, read from its own file."""
    for metric in MultiProcessCollector.merge([str(db)], accumulate=True):  # type: ignore[no-untyped-call]
        for sample in metric.samples:
            if sample.name == "klaviyo_tool_calls_total" and sample.labels.get("tool") == "klaviyo_list_accounts":
                return float(sample.value)
    return 0.0


def wait_for_workers(log: Path, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(re.findall(r"Booting worker with pid", log.read_text(errors="replace"))) < count:
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.1)
    time.sleep(0.5)  # booted workers still import the app before they accept


def gunicorn(port: int) -> list[str]:
    """The docs' command ("Deploy for a team"), on a free port."""
    block = recipe("Deploy for a team", "test_one_scrape_sees_calls_served_by_both_workers").code
    line = next(line for line in block.splitlines() if line.startswith(".venv/bin/gunicorn "))
    argv = shlex.split(line.split("#")[0])
    assert argv[argv.index("-c") + 1] == "gunicorn.conf.py"  # 2 workers by default, and the metrics hooks
    # One thread and one connection per worker: a worker holding a half-sent request then stops
    # accepting, so the test knows the other worker serves the rest (the shipped 8 threads would
    # let either worker serve them all).
    one_each = ["--threads", "1", "--worker-connections", "1"]
    return [str(VENV_BIN / "gunicorn"), *argv[1:-1], *one_each, "--bind", f"127.0.0.1:{port}", argv[-1]]


@pytest.mark.slow
def test_one_scrape_sees_calls_served_by_both_workers(tmp_path: Path) -> None:
    accounts = {"acme": {"api_key_env": "KLAVIYO_ACME_KEY", "conversion_metric_id": "PLACED", "label": "Acme"}}
    multiproc = tmp_path / "metrics"
    env = base_env(
        tmp_path,
        KLAVIYO_MCP_ACCOUNTS_FILE=str(write_accounts(tmp_path / "accounts.toml", accounts)),
        KLAVIYO_ACME_KEY="pk_test_acme_0123456789",
        KLAVIYO_MCP_LEDGER_PATH=str(tmp_path / "ledger.sqlite3"),
        KLAVIYO_MCP_REST_API_KEY=REST_TOKEN,
        KLAVIYO_MCP_REST_RATE_LIMIT="100000/minute",
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(gunicorn(port), REPO, env, tmp_path / "gunicorn.log", f"{base}/health") as server:
        wait_for_workers(server.log, 2)
        # A request sent in two halves holds one worker's only connection; meanwhile the other
        # worker must serve every other call. Then the first half's worker finishes its own call.
        with socket.create_connection(("127.0.0.1", port), timeout=30) as held:
            held.sendall(b"GET /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            time.sleep(0.5)  # accepted by one worker, which now waits for the rest
            for _ in range(CALLS - 1):
                assert http_request(f"{base}/v1/accounts", AUTH)[0] == 200
            held.sendall(f"Authorization: Bearer {REST_TOKEN}\r\nConnection: close\r\n\r\n".encode())
            assert held.recv(64).startswith(b"HTTP/1.1 200")
        status, body = http_request(f"{base}/metrics", AUTH)
        assert status == 200, server.output()
        assert tool_calls(body.decode()) == CALLS  # every worker's calls, in one scrape
        per_worker = [calls_in(db) for db in sorted(multiproc.glob("counter_*.db"))]
        served = [n for n in per_worker if n > 0]
        assert sorted(served) == [1, CALLS - 1], (per_worker, server.output())

    # A restart starts from zero: gunicorn's on_starting hook removed the last run's files.
    port = free_port()
    with running(gunicorn(port), REPO, env, tmp_path / "gunicorn2.log", f"http://127.0.0.1:{port}/health"):
        status, body = http_request(f"http://127.0.0.1:{port}/metrics", AUTH)
        assert status == 200 and tool_calls(body.decode()) == 0


# Each process: a service like a worker's, its cache and pacer moved by hand, then one tool call.
WORKER = """
import sys
from klaviyo_analytics.adapters import prometheus
from klaviyo_analytics.config import load_settings
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, build_service
from klaviyo_analytics.tools import get_tool, run_tool

service = build_service(load_settings())
bound = prometheus.bind(service, prometheus.PrometheusMetrics())
hits, misses, wait = (float(a) for a in sys.argv[1:4])
for _ in range(2):  # two calls: the second must not count the first's totals again
    service.client.cache.hits += int(hits)
    service.client.cache.misses += int(misses)
    service.client.pacer.total_wait_seconds += wait
    run_tool(get_tool("klaviyo_list_accounts"), service, {}, CallContext(deadline=Deadline(5)))
if len(sys.argv) > 4:
    sys.stdout.write(bound.render().decode())
"""


def test_cache_and_pacer_counts_are_summed_across_workers(tmp_path: Path) -> None:
    accounts = {"acme": {"api_key_env": "KLAVIYO_ACME_KEY", "conversion_metric_id": "PLACED", "label": "Acme"}}
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    env = base_env(
        tmp_path,
        KLAVIYO_MCP_ACCOUNTS_FILE=str(write_accounts(tmp_path / "accounts.toml", accounts)),
        KLAVIYO_ACME_KEY="pk_test_acme_0123456789",
        KLAVIYO_MCP_LEDGER_PATH=str(tmp_path / "ledger.sqlite3"),
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
        PYTHONPATH=str(REPO),
    )

    def worker(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", WORKER, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    worker("3", "1", "0.5")
    text = worker("5", "2", "0.25", "render")
    samples = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}
    assert samples["klaviyo_cache_hits_total"] == 2 * (3 + 5)
    assert samples["klaviyo_cache_misses_total"] == 2 * (1 + 2)
    assert samples["klaviyo_pacing_wait_seconds_total"] == pytest.approx(2 * (0.5 + 0.25))
    assert tool_calls(text) == 4

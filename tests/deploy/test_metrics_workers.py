"""Two gunicorn workers, one scrape: PROMETHEUS_MULTIPROC_DIR sums every worker's counters."""

from __future__ import annotations

import re
import shlex
import socket
import time
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.conftest import REPO, REST_TOKEN, VENV_BIN, base_env, free_port, http_request, replace_one, running
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
    """The README's command ("Deploy for a team"), on a free port."""
    block = recipe("Deploy for a team", "test_one_scrape_sees_calls_served_by_both_workers").code
    line = next(line for line in block.splitlines() if line.startswith("gunicorn "))
    argv = replace_one(shlex.split(line), "127.0.0.1:8080", f"127.0.0.1:{port}")
    assert argv[argv.index("--workers") + 1] == "2"
    return [str(VENV_BIN / "gunicorn"), *argv[1:]]


@pytest.mark.slow
def test_one_scrape_sees_calls_served_by_both_workers(tmp_path: Path) -> None:
    accounts = {"acme": {"api_key_env": "KLAVIYO_ACME_KEY", "conversion_metric_id": "PLACED", "label": "Acme"}}
    multiproc = tmp_path / "metrics"
    env = base_env(
        tmp_path,
        ACCOUNTS_FILE=str(write_accounts(tmp_path / "accounts.toml", accounts)),
        KLAVIYO_ACME_KEY="pk_test_acme_0123456789",
        LEDGER_PATH=str(tmp_path / "ledger.sqlite3"),
        REST_API_KEY=REST_TOKEN,
        REST_RATE_LIMIT="100000/minute",
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(gunicorn(port), REPO, env, tmp_path / "gunicorn.log", f"{base}/health") as server:
        wait_for_workers(server.log, 2)
        # A request sent in two halves holds one sync worker on its socket; meanwhile the other
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

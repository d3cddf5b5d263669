"""The chat-session benchmark, bounded and time-scaled (0.01): no question fails, report calls equal
the distinct (endpoint, window) pairs the questions need, and a rerun on the same store costs none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.session import QUESTIONS, needed_reports, run_session
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.service import KlaviyoService
from klaviyo_sandbox import Sandbox
from tests.product.conftest import TIME_SCALE

REPO = Path(__file__).resolve().parents[2]
GAP = 2.0 * TIME_SCALE  # two seconds between questions, on the same scale as the rate windows


def report_calls(sandbox: Sandbox) -> int:
    return sum(1 for e in sandbox.log() if e["path"].endswith("-reports") and e["status"] == 200)


def test_session_spends_one_report_call_per_endpoint_and_window(sandbox: Sandbox, service: KlaviyoService) -> None:
    needed = needed_reports(QUESTIONS, service.today())
    assert len(needed) < sum(1 for _, tool, _ in QUESTIONS if tool != "klaviyo_get_list_health")  # reuse matters
    records = run_session(service, GAP)
    assert [r["code"] for r in records if not r["ok"]] == []
    assert report_calls(sandbox) == len(needed)
    assert sandbox.state()["rate_limited"] == 0

    # A restart on the same store: a new client and service over the first one's cache.
    client = KlaviyoClient(service.settings, transport=sandbox.transport, cache=service.client.cache)
    restarted = KlaviyoService(service.settings, service.registry, client, clock=service.clock)
    before = report_calls(sandbox)
    assert all(r["ok"] for r in run_session(restarted, GAP))
    assert report_calls(sandbox) == before, "the rerun spent report calls"


@pytest.mark.slow
def test_session_benchmark_script_runs_time_scaled() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "session.py"), "--time-scale", str(TIME_SCALE)],
        capture_output=True, text=True, timeout=120, check=True, cwd=REPO,
    )  # fmt: skip
    cold = next(line for line in out.stdout.splitlines() if line.startswith("| cold start"))
    needed = int(out.stdout.split("endpoint, window pairs): ")[1].split(".")[0])
    cells = [c.strip() for c in cold.split("|")[1:-1]]
    assert cells[1:3] == ["10/10", "0"] and int(cells[3]) == needed and cells[5] == "0"

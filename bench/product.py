"""Product benchmarks against the Klaviyo sandbox (published rate limits, time-scaled).

    .venv/bin/python bench/product.py [--quick]

Prints a markdown report (also written to bench/results/product.md). Timings are medians over
several runs on a noisy 2-core machine; ratios are the figures to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from klaviyo_analytics.clock import pinned_on  # noqa: E402
from klaviyo_analytics.klaviyo.deadline import Deadline  # noqa: E402
from klaviyo_analytics.service import CallContext, KlaviyoService  # noqa: E402
from klaviyo_analytics.tools import CATALOG, get_tool, run_tool  # noqa: E402
from klaviyo_sandbox import Sandbox, SandboxConfig  # noqa: E402
from tests.product.conftest import TIME_SCALE, TODAY, sandbox_service  # noqa: E402

REPORT_OPS = {
    "form-values-reports",
    "form-series-reports",
    "campaign-values-reports",
    "flow-values-reports",
    "flow-series-reports",
    "segment-series-reports",
    "segment-values-reports",
}


def service_for(sandbox: Sandbox, directory: Path) -> KlaviyoService:
    # The same wiring the product tests use, with a deadline long enough for 200 paced sizes.
    return sandbox_service(sandbox, directory, KLAVIYO_MCP_TOOL_DEADLINE_SECONDS="600")


def call(svc: KlaviyoService, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return run_tool(get_tool(name), svc, args, CallContext(Deadline(svc.settings.tool_deadline_seconds)))


def upstream_calls(directory: Path) -> list[list[Any]]:
    from tests.product.test_tools_on_sandbox import EXTRA_CALLS, READ_CALLS

    rows = []
    calls = [(n, dict(a)) for n, a in READ_CALLS.items() if n in {s.name for s in CATALOG}] + EXTRA_CALLS
    calls += [
        (
            "klaviyo_get_performance_over_time",
            {"account": "acme", "entity": "campaign", "timeframe": "last_365_days", "interval": interval},
        )
        for interval in ("monthly", "weekly", "daily")
    ]
    for index, (name, args) in enumerate(calls):
        sandbox = Sandbox(SandboxConfig(seed=7, clock=pinned_on(TODAY), time_scale=TIME_SCALE))
        # A data directory of its own: the default quota store (SQLite beside the ledger) would
        # otherwise answer one call from the cache an earlier call filled.
        fresh = directory / f"calls-{index}"
        fresh.mkdir()
        svc = service_for(sandbox, fresh)
        if name == "klaviyo_get_flow_structure":
            args["flow_id"] = call(svc, "klaviyo_get_flows", {"account": "acme"})["data"]["flows"][0]["flow_id"]
            sandbox.reset()
            svc.client.cache.clear()
        if name in ("klaviyo_get_ab_results", "klaviyo_get_link_clicks"):  # the latest sent email campaign
            sent = call(svc, "klaviyo_get_campaigns", {"account": "acme", "channel": "email", "status": "Sent"})
            args["campaign"] = sent["data"]["campaigns"][0]["campaign_id"]
            sandbox.reset()
            svc.client.cache.clear()
        envelope = call(svc, name, args)
        ops = Counter(entry["path"].split("/")[2] for entry in sandbox.log())
        reports = sum(n for op, n in ops.items() if op in REPORT_OPS)
        buckets = len(envelope["data"].get("date_times", [])) if isinstance(envelope["data"], dict) else 0
        label = name + (
            f" ({args.get('entity')}, {args.get('interval', '')}".rstrip(", ") + ")" if "entity" in args else ""
        )
        label += " rollup" if args.get("rollup") else ""
        rows.append([label, sum(ops.values()), reports, buckets or "", sandbox.state()["rate_limited"]])
    return rows


def bound_seconds(n: int, burst: int = 1, steady: int = 15) -> float:
    """The least time n calls can take under a sliding 1 s burst and 60 s steady window."""
    full_minutes, rest = divmod(n - 1, steady)
    return (full_minutes * 60 + rest / burst) * TIME_SCALE


def list_health(directory: Path, lists: int) -> list[Any]:
    size = "large" if lists > 100 else "small"
    sandbox = Sandbox(SandboxConfig(seed=7, clock=pinned_on(TODAY), size=size, time_scale=TIME_SCALE))
    svc = service_for(sandbox, directory)
    account = svc.account("acme")
    count = len(svc.client.get_all(account, "/api/lists", deadline=Deadline(600)))
    for n in range(count, lists):  # top up through the product's own paced client
        body = {"data": {"type": "list", "attributes": {"name": f"Bench list {n}"}}}
        svc.client.post(account, "/api/lists", body, deadline=Deadline(600))
    svc.client.cache.clear()
    time.sleep(2 * 60 * TIME_SCALE)  # let every window from the set-up close
    throttled_before = sandbox.state()["rate_limited"]
    started = time.perf_counter()
    data = call(svc, "klaviyo_get_list_health", {"account": "acme"})["data"]
    elapsed = time.perf_counter() - started
    assert not data["pending"], "the deadline cut the run short"
    sized = sum(1 for row in data["lists"] if row["profile_count"] is not None)
    bound = bound_seconds(data["list_count"])
    return [
        data["list_count"],
        sized,
        f"{elapsed:.2f}",
        f"{bound:.2f}",
        f"{elapsed / bound:.3f}",
        sandbox.state()["rate_limited"] - throttled_before,
    ]


def warm_cached_call(directory: Path, runs: int = 500) -> tuple[float, float]:
    sandbox = Sandbox(SandboxConfig(seed=7, clock=pinned_on(TODAY), time_scale=TIME_SCALE))
    svc = service_for(sandbox, directory)
    args = {"account": "acme", "timeframe": "last_30_days"}
    call(svc, "klaviyo_get_campaign_performance", args)
    before = len(sandbox.log())
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call(svc, "klaviyo_get_campaign_performance", args)
        times.append((time.perf_counter() - started) * 1000)
    assert len(sandbox.log()) == before, "a warm call reached the sandbox"
    return statistics.median(times), statistics.quantiles(times, n=20)[-1]


def mcp_cold_start(directory: Path, runs: int = 5) -> tuple[float, float, int]:
    sandbox = Sandbox(SandboxConfig(seed=7, clock=pinned_on(TODAY)))
    service_for(sandbox, directory)  # writes accounts.toml
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(directory),
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(directory / "accounts.toml"),
        "KLAVIYO_MCP_TODAY": TODAY.isoformat(),
        "KLAVIYO_MCP_LOG_LEVEL": "WARNING",
        **{a.key_env: a.api_key for a in sandbox.accounts},
    }
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    times, peaks, size = [], [], 0
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=directory,
            text=True,
        )
        assert proc.stdin and proc.stdout
        for message in messages:
            proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
        for line in proc.stdout:
            if '"id":2' in line.replace(" ", ""):
                times.append(time.perf_counter() - started)
                size = len(json.dumps(json.loads(line)["result"], separators=(",", ":")))
                break
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peaks.append(int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024)
        proc.stdin.close()
        proc.wait(10)
        proc.stdout.close()
    return statistics.median(times), max(peaks), size


def demo_time(runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(REPO / "demo.py")], check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def table(rows: list[list[Any]], header: list[str], align: str = "") -> str:
    """A Markdown table; ``align`` is one of ``l``/``r`` per column (default all left)."""
    rule = "|" + "".join("---:|" if a == "r" else "---|" for a in (align or "l" * len(header)))
    out = ["| " + " | ".join(header) + " |", rule]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def publish(name: str, report: str) -> None:
    """A benchmark's report: bench/results/<name>.md, and stdout."""
    out = REPO / "bench" / "results" / f"{name}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report)
    print(report)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the 200-list run and the demo timing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sections = [
            "## Upstream calls per tool (cold cache, sandbox seed 7)",
            "",
            table(upstream_calls(directory), ["tool call", "Klaviyo calls", "report calls", "buckets", "429s"]),
        ]
        health = [list_health(directory, 50)] + ([] if args.quick else [list_health(directory, 200)])
        sections += [
            "",
            f"## List health against the profile_count limit (1/s, 15/min; time scale {TIME_SCALE})",
            "",
            table(health, ["lists", "sized", "seconds", "bound (s)", "ratio", "429s"]),
        ]
        p50, p95 = warm_cached_call(directory)
        start, rss, size = mcp_cold_start(directory)
        rows = [
            ["warm cached campaign performance, in process (p50 / p95)", f"{p50:.3f} ms / {p95:.3f} ms"],
            ["MCP cold start to tools/list answered (median of 5)", f"{start:.3f} s"],
            ["server.py peak RSS (VmHWM, max of 5)", f"{rss:.1f} MiB"],
            ["tools/list result, compact JSON", f"{size:,} bytes ({len(CATALOG)} tools)"],
        ]
        if not args.quick:
            rows.append(["`make demo` end to end, warm venv (median of 3)", f"{demo_time():.1f} s"])
        sections += ["", "## Latency, start-up, memory, size", "", table(rows, ["measure", "result"])]
    publish("product", "\n".join(sections) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

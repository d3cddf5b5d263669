"""Latency of sandbox calls through the in-process transport (default size), as a markdown table.

    .venv/bin/python bench/bench_sandbox.py [--runs 200]

The goal is a campaign-values report under 20 ms (median). Rate limits are scaled away
(time_scale=1e-9) so that the numbers measure the handler, not the limiter.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from klaviyo_sandbox import Sandbox, SandboxConfig

HEADERS = {"Authorization": "Klaviyo-API-Key pk_sandbox_acme_demo", "revision": "2026-07-15"}


def _calls(client: httpx.Client, conv: str) -> dict[str, Callable[[], httpx.Response]]:
    def report(kind: str, **attributes: object) -> Callable[[], httpx.Response]:
        body = {"data": {"type": f"{kind}-report", "attributes": attributes}}
        return lambda: client.post(f"/api/{kind}-reports", json=body)

    window = ["greater-or-equal(datetime,2025-03-01T00:00:00)", "less-than(datetime,2026-03-01T00:00:00)"]
    aggregate = {"data": {"type": "metric-aggregate", "attributes": {
        "metric_id": conv, "measurements": ["count", "sum_value"], "filter": window, "interval": "month",
        "by": ["$attributed_message"]}}}  # fmt: skip
    stats = ["recipients", "delivered", "open_rate", "click_rate", "conversion_rate", "conversion_value",
             "revenue_per_recipient", "unsubscribe_rate"]  # fmt: skip
    return {
        "campaign-values (last_365_days, 8 stats)": report(
            "campaign-values", statistics=stats, timeframe={"key": "last_365_days"}, conversion_metric_id=conv
        ),
        "flow-values (last_30_days, 8 stats)": report(
            "flow-values", statistics=stats, timeframe={"key": "last_30_days"}, conversion_metric_id=conv
        ),
        "flow-series (last_30_days, daily)": report(
            "flow-series",
            statistics=stats,
            timeframe={"key": "last_30_days"},
            interval="daily",
            conversion_metric_id=conv,
        ),
        "metric-aggregates (Placed Order, 1 year, monthly, by message)": lambda: client.post(
            "/api/metric-aggregates", json=aggregate
        ),
        "GET /api/campaigns (email, page of 100)": lambda: client.get(
            "/api/campaigns", params={"filter": "equals(messages.channel,'email')"}
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--size", choices=("small", "large"), default="small")
    args = parser.parse_args()
    started = time.perf_counter()
    sb = Sandbox(SandboxConfig(seed=7, size=args.size, anchor=date(2026, 3, 1), time_scale=1e-9))
    build_ms = (time.perf_counter() - started) * 1000
    client = httpx.Client(transport=sb.transport, base_url="https://a.klaviyo.com", headers=HEADERS)
    print(f"Sandbox build ({args.size}): {build_ms:.0f} ms; {args.runs} runs per call\n")
    print("| call | median ms | p95 ms |")
    print("|---|---:|---:|")
    for name, call in _calls(client, sb.accounts[0].conversion_metric_id).items():
        assert call().status_code == 200, name
        samples = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            call()
            samples.append((time.perf_counter() - t0) * 1000)
        p95 = statistics.quantiles(samples, n=20)[-1]
        print(f"| {name} | {statistics.median(samples):.2f} | {p95:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

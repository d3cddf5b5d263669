"""The rows of the fast-path table that have no framework floor: goals of their own.

    warm_call      a warm cached tool call in process (p50 / p95)
    segment_sizes  upstream calls for "my segments and their sizes", at Klaviyo's real limits
    partial_bytes  bytes of text the model gets for "sizes of my 200 lists" until complete

Run by ``bench/floors.py`` (``python -m bench.floors``), which prints them with the floors.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench.product import call, service_for
from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.tools import get_tool
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.product.conftest import TIME_SCALE, TODAY, sandbox_service


def warm_call(directory: Path, runs: int) -> list[list[Any]]:
    sandbox = Sandbox(SandboxConfig(seed=7, clock=pinned_on(TODAY), time_scale=TIME_SCALE))
    svc = service_for(sandbox, directory)
    args = {"account": "acme", "timeframe": "last_30_days"}
    call(svc, "klaviyo_get_campaign_performance", args)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call(svc, "klaviyo_get_campaign_performance", args)
        times.append((time.perf_counter() - started) * 1000)
    p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
    return [["warm cached tool call in process (campaign performance, ms)", f"p50 {p50:.3f} / p95 {p95:.3f}", "—",
             "goal p50 ≤ 0.1 ms"]]  # fmt: skip


def segment_sizes(directory: Path) -> list[list[Any]]:
    """Upstream calls and wall time for 'my segments and their sizes' at Klaviyo's real limits."""
    sandbox = Sandbox(SandboxConfig(seed=7, clock=pinned_on(TODAY)))  # time scale 1: the published windows, unscaled
    svc = sandbox_service(
        sandbox, directory, KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE="1", KLAVIYO_MCP_QUOTA_STORE="memory://"
    )
    started = time.perf_counter()
    data = call(svc, "klaviyo_get_segments", {"account": "acme"})["data"]
    elapsed = time.perf_counter() - started
    calls = len(sandbox.log())
    return [[f"upstream calls for \"my segments and their sizes\" ({data['segment_count']} segments)",
             f"{calls} calls, {elapsed:.2f} s", "—", "goal 2 calls"]]  # fmt: skip


def partial_bytes(directory: Path) -> list[list[Any]]:
    """Bytes of text the model gets for "sizes of my 200 lists" until complete, at Klaviyo's real
    limits (1/s, 15/min for sizes) and a 45 s deadline, on a simulated clock (pacing takes no time)."""
    from klaviyo_analytics.render.text import render_result
    from klaviyo_analytics.tools.runner import run_tool
    from tests.helpers import FakeClock
    from tests.lists.conftest import ANCHOR, add_lists, build_world

    figures = {}
    for resume in (False, True):
        clock = FakeClock()
        sandbox = Sandbox(SandboxConfig(seed=7, size="small", anchor=ANCHOR, clock=clock))
        acme = next(a for a in sandbox.accounts if a.slug == "acme")
        (directory / str(resume)).mkdir()
        world = build_world(directory / str(resume), sandbox.transport, clock, acme.key_env, acme.api_key,
                            acme.conversion_metric_id)  # fmt: skip
        add_lists(world, 188)  # the seeded account has 12
        spec, args = get_tool("klaviyo_get_list_health"), {}
        sent, calls = 0, 0
        while True:
            answer = run_tool(spec, world.svc, args, world.ctx(45))
            sent, calls = sent + len(render_result(answer).encode()), calls + 1
            if not answer["data"]["pending"]:
                break
            clock.sleep(answer["metadata"]["retry_after_seconds"])
            args = {"resume": answer["metadata"]["resume"]} if resume else {}
        figures[resume] = (sent, calls)
    (full, full_calls), (delta, delta_calls) = figures[False], figures[True]
    label = f'bytes to the model for "sizes of my 200 lists" at real limits ({delta_calls} calls)'
    without = f"goal ≤ 60 KB (without resume: {full / 1000:.0f} KB in {full_calls} calls)"
    return [[label, f"{delta / 1000:.0f} KB", "—", without]]

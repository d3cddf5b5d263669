"""Several processes hammer one sandbox account through one Redis quota store; count the 429s.

    .venv/bin/python -m bench.quota_hammer [--seconds 60] [--scale 0.05]

Deployed as docs/deploying-for-a-team.md says (``gunicorn -w 2`` and ``server.py`` over stdio, from the reliability
tests' cluster) plus a second "host": another process with its own Redis client. All of them ask
report questions (campaign performance over ever-new windows, so the cache cannot answer) and
list sizes (list health) of one account for a bounded time, with the rate windows scaled on both
sides (sandbox and product). The sandbox counts the 429s it served; the goal is 0, with every call
answered or refused with RATE_LIMITED.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BASE_DAY = date(2025, 6, 1)


def questions(seed: int) -> itertools.cycle[tuple[str, dict[str, Any]]]:
    """Report questions on windows nobody asked before, interleaved with list sizes."""
    rng = random.Random(seed)
    asks: list[tuple[str, dict[str, Any]]] = []
    for _ in range(400):
        start = BASE_DAY + timedelta(days=rng.randrange(0, 240))
        end = start + timedelta(days=rng.randrange(1, 20))
        window = {"account": "acme", "start_date": start.isoformat(), "end_date": end.isoformat()}
        asks.append(("klaviyo_get_campaign_performance", {**window, "resolve_campaign_names": False}))
        if rng.random() < 0.3:
            asks.append(("klaviyo_get_list_health", {"account": "acme"}))
    return itertools.cycle(asks)


def outcome_of_error(text: str) -> str:
    if "RATE_LIMITED" in text:
        return PAUSED if "KLAVIYO_MCP_QUOTA_STORE" in text else "RATE_LIMITED"
    return f"other:{text[:120]}"


# A refusal because the shared quota store is away (Klaviyo calls paused), told apart from the limits.
PAUSED = "RATE_LIMITED:store_paused"
PAUSED_BACKOFF_SECONDS = 0.1


def host_main(seconds: float, out: Path, seed: int = 3, go: Path | None = None) -> None:
    """The second host: its own process and Redis client, on the settings in its environment.

    With ``go``, it says it is ready (``out`` + ``.ready``) and starts when that file appears, so a
    crowd of processes starts its load at one instant (the harshest start for a shared pacer)."""
    from klaviyo_analytics.config import load_settings
    from klaviyo_analytics.errors import KlaviyoMCPError
    from klaviyo_analytics.klaviyo.deadline import Deadline
    from klaviyo_analytics.service.core import CallContext, build_service
    from klaviyo_analytics.tools import get_tool
    from klaviyo_analytics.tools.runner import run_tool

    settings = load_settings()
    service = build_service(settings)
    outcomes: Counter[str] = Counter()
    if go is not None:
        warm_up(service, settings.tool_deadline_seconds)
        Path(f"{out}.ready").touch()
        give_up = time.monotonic() + CROWD_READY_SECONDS
        while not go.exists() and time.monotonic() < give_up:
            time.sleep(0.01)
    stop = time.monotonic() + seconds
    for name, args in questions(seed):
        if time.monotonic() >= stop:
            break
        ctx = CallContext(Deadline(settings.tool_deadline_seconds), caller="host-2")
        try:
            run_tool(get_tool(name), service, args, ctx)
            outcomes["ok"] += 1
        except KlaviyoMCPError as exc:
            outcome = outcome_of_error(f"{exc.code}: {exc.message}")
            outcomes[outcome] += 1
            if outcome == PAUSED:  # a client told "paused, retry in N s" waits a little, as a person would
                time.sleep(PAUSED_BACKOFF_SECONDS)
    out.write_text(json.dumps(outcomes))


def hammer(
    directory: Path,
    seconds: float,
    scale: float,
    deadline_seconds: float = 5.0,
    shared: bool = True,
    neighbours: int = 0,
) -> dict[str, Any]:
    """``shared=False`` gives each process its own in-memory store: the baseline of one pacer per process.
    ``neighbours`` CPU-bound processes spin through the load, from when the processes are up (as in
    :func:`crowd`)."""
    from klaviyo_sandbox import Sandbox, SandboxConfig
    from tests.reliability.busy import busy, still_spinning
    from tests.reliability.cluster import cluster
    from tests.reliability.harness import ANCHOR
    from tests.servers import redis_server

    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=scale))
    with redis_server(directory / "redis") as redis:
        settings = {"KLAVIYO_MCP_QUOTA_STORE": redis.url if shared else "memory://",
                    "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": repr(scale),
                    "KLAVIYO_MCP_TOOL_DEADLINE_SECONDS": repr(deadline_seconds)}  # fmt: skip
        with cluster(sb, directory / "cluster", **settings) as node, busy(neighbours) as spinners:
            outcomes: dict[str, Counter[str]] = {"rest": Counter(), "mcp": Counter()}
            stop = time.monotonic() + seconds
            host_out = directory / "host.json"
            host_err = (directory / "host.err").open("wb")
            host = subprocess.Popen(
                [sys.executable, "-m", "bench.quota_hammer", "--host", str(host_out), "--seconds", str(seconds)],
                env=node.env, cwd=REPO, stderr=host_err,
            )  # fmt: skip

            def rest(seed: int) -> None:
                from klaviyo_analytics.tools import get_tool

                for name, args in questions(seed):
                    if time.monotonic() >= stop:
                        return
                    spec = get_tool(name)
                    if spec.method == "GET":
                        response = node.rest("GET", spec.path, params=args)
                    else:
                        response = node.rest("POST", spec.path, json=args)
                    body = response.json()
                    key = "ok" if response.status_code == 200 else outcome_of_error(json.dumps(body))
                    outcomes["rest"][key] += 1

            def mcp() -> None:
                assert node.mcp is not None
                for name, args in questions(2):
                    if time.monotonic() >= stop:
                        return
                    payload, text, is_error = node.mcp.call(name, **args)
                    outcomes["mcp"]["ok" if not is_error else outcome_of_error(text + json.dumps(payload))] += 1

            threads = [threading.Thread(target=rest, args=(seed,)) for seed in (0, 1)]
            threads.append(threading.Thread(target=mcp))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            host_code = host.wait(timeout=seconds + 60)
            spinning = still_spinning(spinners)
            host_err.close()
            assert host_code == 0, (directory / "host.err").read_text()[-2000:]
            workers = node.access_pids("/v1/")
    log = sb.log()
    reports = [e for e in log if e["path"].endswith("-reports") and e["status"] == 200]
    throttled = throttled_detail(log)
    return {
        "seconds": seconds,
        "scale": scale,
        "sandbox_429s": sb.state()["rate_limited"],
        "throttled": throttled,
        "report_calls_served": len(reports),
        # First to last report call the sandbox served (the host process runs ``seconds`` from its own start).
        "report_span_seconds": round(
            (datetime.fromisoformat(reports[-1]["time"]) - datetime.fromisoformat(reports[0]["time"])).total_seconds(),
            3,
        )
        if reports
        else 0.0,
        "upstream_calls": len(log),
        "rest": dict(outcomes["rest"]),
        "mcp": dict(outcomes["mcp"]),
        "host": json.loads(host_out.read_text()),
        "gunicorn_workers_used": len(workers),
        "neighbours_spinning_throughout": spinning,
    }


def warm_up(service: Any, deadline_seconds: float) -> None:
    """Everything a first call pays once (imports, the HTTP client), without calling Klaviyo: on a
    starved machine 12 fresh processes otherwise spend the first seconds of the load importing."""
    from klaviyo_analytics.errors import KlaviyoMCPError
    from klaviyo_analytics.klaviyo.deadline import Deadline
    from klaviyo_analytics.service.core import CallContext
    from klaviyo_analytics.tools import get_tool
    from klaviyo_analytics.tools.runner import run_tool

    service.client._http  # noqa: B018 - builds the httpx client
    for name, args in [
        ("klaviyo_get_campaign_performance", {"account": "acme", "start_date": "2025-06-09", "end_date": "2025-06-01"}),
        ("klaviyo_get_list_health", {"account": "no-such-account"}),
    ]:
        with contextlib.suppress(KlaviyoMCPError):  # refused before any request: reversed dates, unknown account
            run_tool(get_tool(name), service, args, CallContext(Deadline(deadline_seconds), caller="warm-up"))


CROWD_READY_SECONDS = 45.0
# Upstream calls the crowd must have made before its store is stopped (it was really under way).
STARTED_CALLS = 3


def crowd(
    directory: Path,
    processes: int = 12,
    seconds: float = 8.0,
    scale: float = 0.05,
    stop_store_after: float | None = None,
    neighbours: int = 0,
) -> dict[str, Any]:
    """``processes`` product processes (each its own Redis client) ask one sandbox account at once.

    With ``stop_store_after``, Redis is stopped that many seconds into the load: the processes
    must then pause their Klaviyo calls rather than send into each other's windows. ``neighbours``
    CPU-bound processes spin from the moment the crowd is released until it is done (not while it
    starts up: that would only slow the start and burn the CPU other work could use).
    """
    from klaviyo_sandbox import Sandbox, SandboxConfig, serve
    from tests.reliability.busy import busy, still_spinning
    from tests.reliability.harness import ANCHOR, environment, machine
    from tests.servers import redis_server, stop_process

    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=scale))
    go = directory / "go"
    with redis_server(directory / "redis") as redis, serve(sb) as base_url:
        env = {**machine(directory), **environment(sb, directory, base_url, KLAVIYO_MCP_QUOTA_STORE=redis.url,
               KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE=repr(scale), KLAVIYO_MCP_TOOL_DEADLINE_SECONDS="5")}  # fmt: skip
        outs = [directory / f"p{i}.json" for i in range(processes)]
        errs = [(directory / f"p{i}.err").open("wb") for i in range(processes)]
        command = [sys.executable, "-m", "bench.quota_hammer", "--seconds", str(seconds), "--go", str(go)]
        procs = [
            subprocess.Popen([*command, "--host", str(out), "--seed", str(10 + i)], env=env, cwd=REPO, stderr=err)
            for i, (out, err) in enumerate(zip(outs, errs, strict=True))
        ]
        try:
            give_up = time.monotonic() + CROWD_READY_SECONDS
            while not all(Path(f"{out}.ready").exists() for out in outs) and time.monotonic() < give_up:
                time.sleep(0.05)
            ready = sum(Path(f"{out}.ready").exists() for out in outs)
            with busy(neighbours) as spinners:
                go.touch()
                started = time.monotonic()
                stopped_at = None
                if stop_store_after is not None:
                    # Stop it once the crowd is under way (on a starved machine the first calls of 12
                    # fresh processes can take longer than stop_store_after) but within the run.
                    while time.monotonic() - started < seconds * 0.75 and (
                        time.monotonic() - started < stop_store_after or len(sb.log()) < STARTED_CALLS
                    ):
                        time.sleep(0.02)
                    redis.stop()
                    stopped_at = sb.now().isoformat()  # the clock the sandbox stamps its log with
                codes = [p.wait(timeout=seconds + 30) for p in procs]
                spinning = still_spinning(spinners)
        finally:
            for p in procs:
                if p.poll() is None:
                    stop_process(p)
            for err in errs:
                err.close()
        elapsed = time.monotonic() - started
    failed = [(directory / f"p{i}.err").read_text()[-1500:] for i, code in enumerate(codes) if code != 0]
    assert not failed, failed[0]
    outcomes: Counter[str] = Counter()
    for out in outs:
        outcomes.update(json.loads(out.read_text()))
    log = sb.log()
    return {
        "processes": processes,
        "ready_together": ready,
        "seconds": round(elapsed, 1),
        "scale": scale,
        "store_stopped_after": stop_store_after,
        "neighbours_spinning_throughout": spinning,
        "sandbox_429s": sb.state()["rate_limited"],
        "throttled": throttled_detail(log),
        "upstream_calls": len(log),
        # Sent after Redis stopped: only requests whose slot was taken before (a slot is slept for).
        "upstream_after_stop": sum(1 for e in log if stopped_at and e["time"] > stopped_at),
        "outcomes": dict(outcomes),
        "calls": [f"{e['time'][11:23]} {e['operation']} {e['status']}" for e in log],
    }


def throttled_detail(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each 429 with the gaps to the previous calls of its operation (what a pacer bug looks like)."""
    found = []
    for i, entry in enumerate(log):
        if entry["status"] == 429:
            same = [e for e in log[:i] if e["operation"] == entry["operation"] and e["status"] != 429][-3:]
            at = datetime.fromisoformat(entry["time"])
            gaps = [round((at - datetime.fromisoformat(e["time"])).total_seconds(), 4) for e in same]
            found.append({"operation": entry["operation"], "seconds_after_previous": gaps})
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--per-process", action="store_true", help="baseline: one in-memory store per process")
    parser.add_argument("--crowd", type=int, help="this many product processes on one Redis, no cluster")
    parser.add_argument("--stop-store-after", type=float, help="with --crowd: stop Redis this far into the load")
    parser.add_argument("--host", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--go", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.host is not None:
        host_main(args.seconds, args.host, args.seed, args.go)
        return
    if args.crowd:
        with TemporaryDirectory() as tmp:
            result = crowd(Path(tmp), args.crowd, args.seconds, args.scale, args.stop_store_after)
        print(json.dumps(result, indent=2))
        return
    with TemporaryDirectory() as tmp:
        result = hammer(Path(tmp), args.seconds, args.scale, shared=not args.per_process)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(REPO))
    main()

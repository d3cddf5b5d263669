"""Several processes hammer one sandbox account through one Redis quota store; count the 429s.

    .venv/bin/python -m bench.quota_hammer [--seconds 60] [--scale 0.05]

Deployed as the README says (``gunicorn -w 2`` and ``server.py`` over stdio, from the reliability
tests' cluster) plus a second "host": another process with its own Redis client. All of them ask
report questions (campaign performance over ever-new windows, so the cache cannot answer) and
list sizes (list health) of one account for a bounded time, with the rate windows scaled on both
sides (sandbox and product). The sandbox counts the 429s it served; the goal is 0, with every call
answered or refused with RATE_LIMITED.
"""

from __future__ import annotations

import argparse
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
    return "RATE_LIMITED" if "RATE_LIMITED" in text else f"other:{text[:120]}"


def host_main(seconds: float, out: Path) -> None:
    """The second host: its own process and Redis client, on the settings in its environment."""
    from klaviyo_analytics.config import load_settings
    from klaviyo_analytics.deadline import Deadline
    from klaviyo_analytics.errors import KlaviyoMCPError
    from klaviyo_analytics.service.core import CallContext, build_service
    from klaviyo_analytics.tools import get_tool
    from klaviyo_analytics.tools.runner import run_tool

    settings = load_settings()
    service = build_service(settings)
    outcomes: Counter[str] = Counter()
    stop = time.monotonic() + seconds
    for name, args in questions(3):
        if time.monotonic() >= stop:
            break
        ctx = CallContext(Deadline(settings.tool_deadline_seconds), caller="host-2")
        try:
            run_tool(get_tool(name), service, args, ctx)
            outcomes["ok"] += 1
        except KlaviyoMCPError as exc:
            outcomes[outcome_of_error(exc.code)] += 1
    out.write_text(json.dumps(outcomes))


def hammer(
    directory: Path, seconds: float, scale: float, deadline_seconds: float = 5.0, shared: bool = True
) -> dict[str, Any]:
    """``shared=False`` gives each process its own in-memory store: the baseline of one pacer per process."""
    from klaviyo_analytics.sandbox import Sandbox, SandboxConfig
    from tests.reliability.cluster import cluster
    from tests.reliability.harness import ANCHOR
    from tests.servers import redis_server

    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=scale))
    with redis_server(directory / "redis") as redis:
        settings = {"KLAVIYO_MCP_QUOTA_STORE": redis.url if shared else "memory://",
                    "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": repr(scale),
                    "KLAVIYO_MCP_TOOL_DEADLINE_SECONDS": repr(deadline_seconds)}  # fmt: skip
        with cluster(sb, directory / "cluster", **settings) as node:
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
            host_err.close()
            assert host_code == 0, (directory / "host.err").read_text()[-2000:]
            workers = node.access_pids("/v1/")
    log = sb.log()
    reports = [e for e in log if e["path"].endswith("-reports") and e["status"] == 200]
    throttled = []
    for i, entry in enumerate(log):
        if entry["status"] == 429:
            same = [e for e in log[:i] if e["operation"] == entry["operation"] and e["status"] != 429][-3:]
            at = datetime.fromisoformat(entry["time"])
            gaps = [round((at - datetime.fromisoformat(e["time"])).total_seconds(), 4) for e in same]
            throttled.append({"operation": entry["operation"], "seconds_after_previous": gaps})
    return {
        "seconds": seconds,
        "scale": scale,
        "sandbox_429s": sb.state()["rate_limited"],
        "throttled": throttled,
        "report_calls_served": len(reports),
        "upstream_calls": len(log),
        "rest": dict(outcomes["rest"]),
        "mcp": dict(outcomes["mcp"]),
        "host": json.loads(host_out.read_text()),
        "gunicorn_workers_used": len(workers),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--per-process", action="store_true", help="baseline: one in-memory store per process")
    parser.add_argument("--host", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.host is not None:
        host_main(args.seconds, args.host)
        return
    with TemporaryDirectory() as tmp:
        result = hammer(Path(tmp), args.seconds, args.scale, shared=not args.per_process)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(REPO))
    main()

"""Pacing overhead per call: the quota stores against the bare in-process pacer.

    .venv/bin/python -m bench.pacing_overhead [--calls 2000]

Each call is one ``Pacer.acquire`` on a bucket whose limits never bind (so nothing sleeps): what is
measured is the cost of taking a slot, in-process (memory) or shared (SQLite file, a local
redis-server started for the run). The floor, measured in the same run, is the bare pacer: the
sliding log kept in a dict under a lock, as the pacer did before the store existed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.endpoints import RateLimit
from klaviyo_analytics.klaviyo.pacing import Pacer
from klaviyo_analytics.quota import Window, store_from_url
from klaviyo_analytics.quota.base import earliest

UNBOUND = RateLimit(10**6, 10**7, 10**8)


def bare_pacer() -> Callable[[], None]:
    """The floor: the old pacer's work (sliding log under a lock), no store."""
    lock = threading.Lock()
    log: deque[float] = deque()
    windows = [Window("burst", 1.03, 10**6), Window("steady", 61.2, 10**7), Window("daily", 88128.0, 10**8)]

    def take() -> None:
        with lock:
            now = time.time()
            slot, _ = earliest(log, windows, now, 0.0)
            log.append(slot)
            while log and log[0] <= slot - 88128.0:
                log.popleft()

    return take


def timed(fn: Callable[[], None], calls: int) -> tuple[float, float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    from tests.servers import redis_server

    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    calls = parser.parse_args().calls
    deadline = Deadline.unlimited()
    rows = [("bare pacer (floor)", *timed(bare_pacer(), calls))]
    with TemporaryDirectory() as tmp, redis_server(Path(tmp) / "redis") as redis:
        for name, url in (("memory://", "memory://"), ("sqlite (WAL file)", f"sqlite://{tmp}/quota.sqlite3"),
                          ("redis (loopback)", redis.url)):  # fmt: skip
            pacer = Pacer(store=store_from_url(url))
            acquire = lambda p=pacer: p.acquire("acme", "bench", UNBOUND, deadline, "bench") and None  # noqa: E731
            rows.append((name, *timed(acquire, calls)))
    print(f"{calls} calls each, µs per call\n")
    print("| store | p50 µs | p99 µs |\n|---|---:|---:|")
    for name, p50, p99 in rows:
        print(f"| {name} | {p50:.0f} | {p99:.0f} |")


if __name__ == "__main__":
    main()

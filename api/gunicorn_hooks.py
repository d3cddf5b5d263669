"""Gunicorn server hooks for Prometheus multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``).

Use them from a gunicorn config: ``gunicorn -c python:api.gunicorn_hooks …``, or import them into
``gunicorn.conf.py`` (``from api.gunicorn_hooks import child_exit, on_starting``). Without
``PROMETHEUS_MULTIPROC_DIR`` they do nothing.

- ``on_starting`` (the master, once): creates the directory and removes the files of a previous
  run, whose counts would otherwise be summed into this one's.
- ``child_exit`` (the master, per exited worker): tells prometheus-client the worker is gone, so
  gauges of live processes drop it; its counters stay summed, as Prometheus expects of counters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

from klaviyo_analytics.adapters.prometheus import multiproc_dir


def on_starting(server: Any) -> None:
    directory = multiproc_dir()
    if directory is None:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    if multiproc_dir() is not None:
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # untyped in prometheus-client

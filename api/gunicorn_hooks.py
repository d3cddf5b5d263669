"""Gunicorn server hooks: a configuration check before any worker, and Prometheus multiprocess mode.

Use them from a gunicorn config: ``gunicorn -c python:api.gunicorn_hooks …``, or import them into
``gunicorn.conf.py`` (``from api.gunicorn_hooks import child_exit, on_starting``). Without
``PROMETHEUS_MULTIPROC_DIR`` they do nothing.

- ``on_starting`` (the master, once): checks the configuration as a worker's ``create_app`` would
  (api/preflight.py); a bad one stops the master at once, exit 1, with one line naming the file or
  variable and no traceback. Then, with ``PROMETHEUS_MULTIPROC_DIR``, creates the directory and
  removes the files of a previous run, whose counts would otherwise be summed into this one's.
- ``child_exit`` (the master, per exited worker): tells prometheus-client the worker is gone, so
  gauges of live processes drop it; its counters stay summed, as Prometheus expects of counters.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from prometheus_client import multiprocess

from api.preflight import preflight
from klaviyo_analytics.adapters.prometheus import multiproc_dir
from klaviyo_analytics.config import load_settings
from klaviyo_analytics.errors import KlaviyoMCPError

# gunicorn's exit status for "a worker could not boot"; the master halts with it.
WORKER_BOOT_ERROR = 3


def refuse(error: KlaviyoMCPError) -> None:
    """One line on stderr, then exit: what is wrong and which file or variable, never a traceback."""
    sys.stderr.write(f"{error.code}: {error.message}\n")
    sys.stderr.flush()


def on_starting(server: Any) -> None:
    try:
        preflight(load_settings())
    except KlaviyoMCPError as error:
        refuse(error)
        raise SystemExit(1) from None
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

"""Processes booting together (gunicorn's workers on a new machine) agree on one secret file and never
read a half-written one: this race failed worker boots before write_once."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from klaviyo_analytics.secret_files import write_once


def _race(path: str, barrier: multiprocessing.synchronize.Barrier, queue: multiprocessing.Queue[str]) -> None:
    barrier.wait()
    target = Path(path)
    if not target.exists():
        write_once(target, os.urandom(32).hex().encode())
    queue.put(target.read_text())


@pytest.mark.slow
def test_processes_starting_together_all_read_one_complete_secret(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    path = tmp_path / "keys" / "secret"
    for _ in range(5):  # a few rounds: the race is in the timing
        if path.exists():
            path.unlink()
        barrier, queue = context.Barrier(8), context.Queue()
        workers = [context.Process(target=_race, args=(str(path), barrier, queue)) for _ in range(8)]
        for worker in workers:
            worker.start()
        seen = [queue.get(timeout=30) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert len(set(seen)) == 1 and len(seen[0]) == 64, seen
        assert path.stat().st_mode & 0o777 == 0o600
        assert [p.name for p in path.parent.iterdir()] == ["secret"], "no scratch file is left behind"

"""CPU-bound neighbours for the quota tests: the machine saturated the way a busy host is.

Each neighbour is a separate Python process spinning on arithmetic for at most ``seconds`` (it
stops by itself even if the test dies), so the scheduler must share the cores between it and the
processes under test. ``busy()`` starts them, yields, and stops them by pid.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tests.servers import stop_process

# A neighbour's whole life: the longest test it sits beside, plus a margin (it exits by itself).
MAX_SECONDS = 120.0
SPIN = "import time\nend = time.monotonic() + {seconds}\nx = 0\nwhile time.monotonic() < end:\n    x = (x * 31 + 7) % 1000003\n"


@contextmanager
def busy(processes: int = 2, seconds: float = MAX_SECONDS) -> Iterator[list[int]]:
    """Start ``processes`` CPU-bound processes for at most ``seconds``; yield their pids."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", SPIN.format(seconds=min(seconds, MAX_SECONDS))])
        for _ in range(processes)
    ]
    try:
        yield [p.pid for p in spinners]
    finally:
        for spinner in spinners:
            stop_process(spinner, timeout=5)


def still_spinning(pids: list[int]) -> bool:
    """True if every neighbour is still running (the test really ran beside them)."""
    import os

    for pid in pids:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
    return True

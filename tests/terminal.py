"""Run a command on a pseudo-terminal and answer its prompt, as a person at a terminal would."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence


def _read_until(fd: int, pattern: str, deadline: float) -> str:
    seen = b""
    while not re.search(pattern.encode(), seen):
        assert time.monotonic() < deadline, f"no {pattern!r} in {seen!r}"
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen.decode(errors="replace")


def run_on_tty(
    argv: Sequence[str], env: Mapping[str, str], answer: Callable[[str], str], timeout: float = 60.0
) -> tuple[int, str]:
    """Run ``argv`` with stdin/stdout/stderr on a new pty; when it prints ``> ``, type
    ``answer(what it printed)``. Returns the exit status and everything it printed."""
    master, slave = os.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=dict(env), close_fds=True)
    os.close(slave)
    deadline = time.monotonic() + timeout
    try:
        shown = _read_until(master, r"> |\n(CONFLICT|NOT_FOUND|FORBIDDEN|CONFIG_ERROR)", deadline)
        if shown.rstrip().endswith(">"):
            os.write(master, (answer(shown) + "\n").encode())
        rest = ""
        while proc.poll() is None or select.select([master], [], [], 0)[0]:
            assert time.monotonic() < deadline, "timed out"
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                rest += chunk.decode(errors="replace")
        return proc.wait(timeout=10), shown + rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def shown_code(text: str) -> str:
    match = re.search(r"type this code: ([A-Z0-9]{6})", text)
    assert match, text
    return match.group(1)

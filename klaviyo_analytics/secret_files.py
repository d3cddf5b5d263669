"""Secrets the product makes for itself on first use (the approval key, the console's session key,
the OAuth signing key), each in a 0600 file that every process of one machine must agree on.

Gunicorn's workers boot at the same moment on a new machine, so the file is written whole under a
private name and then linked into place: a reader sees either no file or a complete one, never a
half-written one, and ``link`` refuses to replace the key another process put there first.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_once(path: Path, content: bytes) -> None:
    """Create ``path`` (mode 0600) holding ``content``, unless some process already has."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        with contextlib.suppress(FileExistsError):  # another process linked its own first: keep that one
            os.link(scratch, path)
    finally:
        Path(scratch).unlink()

"""Write requirements-bootstrap.txt from requirements.txt's pip entry (run by `make lock`).

The bootstrap installs this pinned, hash-checked pip into a new venv before the lock, so the lock is
installed by the same pip on every machine instead of whatever the interpreter bundles.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
# The installer the bootstrap puts into a new .venv before anything else (scripts/bootstrap-venv.sh).
# A venv starts with the interpreter's bundled pip, whose hash-checking mode has resolved extras as
# unpinned requirements (pip 23.2 picked an unlocked coverage); this pin makes the lock install the
# same way on every machine. Generated from requirements.txt's pip entry by `make lock`.
"""


def render(lock_text: str) -> str:
    match = re.search(r"^pip==\S+(?: \\\n(?:    --hash=\S+(?: \\)?\n?)+)", lock_text, re.M)
    if match is None:
        raise SystemExit("requirements.txt has no hashed pip entry: keep pip-tools in requirements.in")
    return HEADER + match.group(0).rstrip("\n") + "\n"


def main() -> int:
    text = render((ROOT / "requirements.txt").read_text())
    (ROOT / "requirements-bootstrap.txt").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""At the end of a run outside CI, a loud section listing the tests skipped because a test server
(Redis, PostgreSQL, Chromium) is not installed: a skip in the middle of a long run is easy to miss, and
a green run without them has not tested the team features. In CI (``CI=true``) those tests fail instead
(tests/servers.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest

# Every skip for a missing server starts with this (tests/servers.py missing(), the browser tests).
MISSING_SERVER = "test server missing: "
INSTALL = "scripts/install-test-services.sh installs Redis, PostgreSQL and Chromium (see docs/contributing.md)"


def _reason(report: Any) -> str:
    longrepr = getattr(report, "longrepr", None)
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
    return text.removeprefix("Skipped: ")


def missing_servers(skipped: Iterable[Any]) -> Counter[str]:
    """How many tests each missing server skipped, by its message."""
    reasons = (_reason(report) for report in skipped)
    return Counter(r.removeprefix(MISSING_SERVER) for r in reasons if r.startswith(MISSING_SERVER))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    counts = missing_servers(terminalreporter.stats.get("skipped", []))
    if not counts:
        return
    terminalreporter.section("TEST SERVERS MISSING: these tests did not run", sep="!", red=True, bold=True)
    for reason, count in sorted(counts.items()):
        terminalreporter.line(f"{count:>4} skipped: {reason}", red=True, bold=True)
    terminalreporter.line(INSTALL, red=True)

"""`make demo` tells the whole story and exits 0 (the demo is the product's front door)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from klaviyo_analytics.paths import REPO_ROOT

pytestmark = pytest.mark.slow


def test_demo_runs_the_story_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "demo.py")], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "ERROR" not in out
    # stdout is a pipe here, not a terminal: no escape codes; headings say the window they query.
    assert "\033[" not in out
    assert "this quarter" not in out and "Orders per week over the last 30 days?" in out
    for needle in (
        "tools/list:",
        "Which campaigns made the most revenue",
        "klaviyo_get_flow_structure",
        "APPROVAL_REQUIRED — a person must approve first",
        "actions approve act_",
        "klaviyo_execute_action: succeeded",
        "trace: POST /api/lists",
        "it runs exactly once",
        "is Draft",
        "{'lists': 1, 'profiles': 3, 'campaigns': 1",
        "klaviyo_get_flow_structure: the outline the proposal promised, status draft",
        "trace: POST /api/flows",
        "0 of them 429s; send-job attempts: 0",
        "email (flows + campaigns):",
        "stopped_sending",
        "worst health band",
    ):
        assert needle in out, needle
    # The GBP account's money is in pounds, never dollars; the portfolio totals each currency alone.
    globex = out.split("And the other account?", 1)[1].split("\n== ", 1)[0]
    assert "£" in globex and "$" not in globex
    assert "total in GBP: £" in out and "total in USD: $" in out
    # Anomalies on the demo account: only the seeded problems, each with its p-value and impact.
    unusual = out.split("Anything unusual this week?", 1)[1].split("\n== ", 1)[0]
    findings = [line for line in unusual.splitlines() if line.startswith(("  change", "  stopped"))]
    assert findings and all(("Abandoned Cart Reminder" in f or "Browse Abandonment" in f) for f in findings)
    assert all("p=" in f and "impact" in f for f in findings) and "smaller or not significant" in unusual

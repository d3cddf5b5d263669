"""The code must not assume the clock is real: a sandbox-driven subset runs in a subprocess whose
whole clock (wall and monotonic) libfaketime moved to London's DST night, on the machine's clock
(nothing pinned), and still finds the account's calendar and exactly the seeded anomalies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.servers import missing

REPO = Path(__file__).resolve().parents[2]
INSTANT = "2027-03-28 01:30:00"  # UTC; London springs forward at 01:00 UTC that night
SCRIPT = """
from datetime import date
from klaviyo_analytics.clock import SYSTEM_CLOCK
from tests.product.datesweep import check_anomalies, check_comparisons, check_presets, world_on

assert SYSTEM_CLOCK.today() == date(2027, 3, 28), SYSTEM_CLOCK.now()  # the faked clock is in effect
world = world_on(SYSTEM_CLOCK)
for check in (check_presets, check_comparisons, check_anomalies):
    check(world)
print("faked clock: ok")
"""


def test_a_sandbox_subset_passes_under_a_faked_process_clock() -> None:
    faketime = shutil.which("faketime")
    if faketime is None:
        missing("faketime (libfaketime) is not installed")
    env = {**os.environ, "TZ": "UTC", "PYTHONPATH": str(REPO)}
    env.pop("FAKETIME_DONT_FAKE_MONOTONIC", None)  # wall and monotonic clocks both moved
    done = subprocess.run(
        [str(faketime), "-f", f"@{INSTANT}", sys.executable, "-c", SCRIPT],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "faked clock: ok" in done.stdout

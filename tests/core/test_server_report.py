"""Outside CI, tests skipped for a missing test server are listed loudly at the end of the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.server_report import MISSING_SERVER

REPO = Path(__file__).resolve().parents[2]


def test_a_missing_server_is_reported_at_the_end_of_the_run(tmp_path: Path) -> None:
    (tmp_path / "test_needs_redis.py").write_text(
        "from tests.servers import missing\n\n"
        "def test_one():\n    missing('redis-server is not installed (apt-get install redis-server)')\n\n"
        "def test_two():\n    missing('redis-server is not installed (apt-get install redis-server)')\n\n"
        "def test_other_skip():\n    import pytest\n    pytest.skip('nothing to do with servers')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS"}}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.server_report", "-p", "no:cacheprovider", "-q",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.split("TEST SERVERS MISSING", 1)
    assert len(summary) == 2, done.stdout
    assert "2 skipped: redis-server is not installed" in summary[1]
    assert "scripts/install-test-services.sh" in summary[1] and "nothing to do with servers" not in summary[1]
    assert MISSING_SERVER.strip() not in summary[1]  # the reason is shown bare

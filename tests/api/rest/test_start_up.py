"""What a REST worker loads before its first request: every gunicorn worker and REST subprocess pays
it. The mcp package (every protocol revision's types, its client and server) cost each one about a
second while the console imported the OAuth login page for one shared constant."""

from __future__ import annotations

import subprocess
import sys

from klaviyo_analytics.paths import REPO_ROOT


def test_the_rest_api_starts_without_the_mcp_package_or_the_oauth_server() -> None:
    heavy = ("mcp", "starlette", "klaviyo_analytics.auth.login", "klaviyo_analytics.auth.provider")
    probe = f"import sys, api; api.create_app; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert out.stdout.strip() == "[]"

"""What a REST worker loads before its first request: every gunicorn worker and REST subprocess pays
it. The mcp package (every protocol revision's types, its client and server) cost each one about a
second while the console imported the OAuth login page for one shared constant."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.api.rest.conftest import REST_TOKEN
from tests.helpers import ACME_KEY, ONE_ACCOUNT, write_accounts


def test_the_rest_api_starts_without_the_mcp_package_or_the_oauth_server(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(write_accounts(tmp_path / "accounts.toml", ONE_ACCOUNT)),
        "KLAVIYO_ACME_KEY": ACME_KEY,
        "KLAVIYO_MCP_REST_API_KEY": REST_TOKEN,
        "KLAVIYO_MCP_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),
        "HOME": str(tmp_path),  # no developer config or data beside it
    }
    heavy = ("mcp", "starlette", "klaviyo_analytics.auth.login", "klaviyo_analytics.auth.provider")
    # The app built as a gunicorn worker builds it, and one tool call answered through it.
    probe = (
        "import sys, api; app = api.create_app(); "
        f"answer = app.test_client().get('/v1/accounts', headers={{'Authorization': 'Bearer {REST_TOKEN}'}}); "
        "assert answer.status_code == 200, answer.json; "
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"

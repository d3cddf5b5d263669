"""live_smoke.py: six catalog tools end to end, warnings for missing scopes, meaningful exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import live_smoke
from klaviyo_analytics.config import load_settings
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.service import KlaviyoService
from klaviyo_analytics.tools import CATALOG, ToolSpec
from klaviyo_sandbox import Sandbox, serve
from tests.install.conftest import REPO, RESTRICTED_KEY, TIME_SCALE, accounts_toml

CHECK_NAMES = [c.name for c in live_smoke.CHECKS]


def sandbox_service(
    sandbox: Sandbox, tmp_path: Path, transport: httpx.BaseTransport | None = None, **env: str
) -> KlaviyoService:
    (tmp_path / "accounts.toml").write_text(accounts_toml(sandbox))
    environ = {
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(tmp_path / "accounts.toml"),
        "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": str(TIME_SCALE),
        "KLAVIYO_MCP_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),
        **{a.key_env: a.api_key for a in sandbox.accounts},
        **env,
    }
    settings = load_settings(environ, use_dotenv=False)
    return KlaviyoService(
        settings, load_registry(settings), KlaviyoClient(settings, transport=transport or sandbox.transport)
    )


def table_rows(stdout: str) -> dict[str, list[str]]:
    rows = {}
    for line in stdout.splitlines():
        for name in CHECK_NAMES:
            if line.startswith(name + "  "):
                rows[name] = line[len(name) :].split()
    return rows


def test_every_check_runs_a_tool_of_the_catalog() -> None:
    assert [c.tool for c in live_smoke.CHECKS] == [
        "klaviyo_list_accounts",
        "klaviyo_get_campaign_performance",
        "klaviyo_get_flows",
        "klaviyo_get_flow_structure",
        "klaviyo_get_performance_over_time",
        "klaviyo_get_list_health",
    ]
    assert {c.tool for c in live_smoke.CHECKS} <= {t.name for t in CATALOG}


@pytest.mark.slow
def test_default_run_starts_a_sandbox_and_passes(tmp_path: Path, sandbox: Sandbox) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(REPO / "live_smoke.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "live smoke: sandbox at http://127.0.0.1:" in done.stdout
    rows = table_rows(done.stdout)
    assert list(rows) == CHECK_NAMES
    for name, cells in rows.items():
        assert cells[0] == "ok" and cells[2] == "ms", (name, cells)
    assert "all checks passed" in done.stdout
    assert elapsed < 60, f"the time-scaled sandbox run took {elapsed:.1f} s"
    for account in sandbox.accounts:
        assert account.api_key not in done.stdout + done.stderr


def test_a_missing_scope_is_a_warning_and_the_next_check_runs(sandbox: Sandbox, tmp_path: Path) -> None:
    service = sandbox_service(sandbox, tmp_path, KLAVIYO_GLOBEX_KEY=RESTRICTED_KEY)  # no flows:read, no lists:read
    outcomes = {o.check: o for o in live_smoke.run_checks(service, "globex")}
    assert [o.result for o in outcomes.values()] == ["ok", "ok", "warning", "skipped", "warning", "warning"]
    assert outcomes["flows"].note.startswith("MISSING_SCOPE:") and "flows:read" in outcomes["flows"].note
    assert outcomes["first flow's structure"].note == "skipped: needs the flow listing"
    assert outcomes["list health"].latency_ms is not None
    assert live_smoke.exit_code(list(outcomes.values())) == 0


def test_a_failed_check_is_reported_and_exits_1(sandbox: Sandbox, tmp_path: Path) -> None:
    def flows_down(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/flow"):
            raise httpx.ConnectError("connection refused", request=request)
        return sandbox.transport.handle_request(request)

    service = sandbox_service(sandbox, tmp_path, httpx.MockTransport(flows_down), KLAVIYO_MAX_RETRIES="0")
    outcomes = live_smoke.run_checks(service, "acme")
    results = {o.check: o.result for o in outcomes}
    assert results == {
        "accounts": "ok",
        "campaigns, last 30 days": "ok",
        "flows": "FAILED",
        "first flow's structure": "skipped",
        "weekly flow series, 90 days": "FAILED",
        "list health": "ok",
    }
    assert outcomes[2].note.startswith("UPSTREAM_ERROR: could not reach Klaviyo")
    assert live_smoke.exit_code(outcomes) == 1
    table = live_smoke.render(outcomes)
    assert table.splitlines()[0].split() == ["check", "result", "latency", "note"]
    assert "FAILED" in table


def test_a_tool_not_in_the_catalog_is_skipped(sandbox: Sandbox, tmp_path: Path) -> None:
    service = sandbox_service(sandbox, tmp_path)

    def without_list_health(name: str) -> ToolSpec | None:
        return None if name == "klaviyo_get_list_health" else live_smoke.catalog_tool(name)

    outcomes = live_smoke.run_checks(service, "acme", lookup=without_list_health)
    assert outcomes[-1] == live_smoke.Outcome("list health", "skipped", None, "skipped: tool not available")
    assert [o.result for o in outcomes[:-1]] == ["ok"] * 5
    assert live_smoke.exit_code(outcomes) == 0


@pytest.mark.slow
def test_with_an_account_it_uses_the_users_own_settings(sandbox: Sandbox, tmp_path: Path) -> None:
    """--account: the user's per-user .env and accounts.toml, here pointed at a sandbox standing in for Klaviyo."""
    home = tmp_path / "home"
    keys = "".join(f"{a.key_env}={a.api_key}\n" for a in sandbox.accounts)
    for config in (home / "xdg" / "klaviyo-mcp", home / "Library" / "Application Support" / "klaviyo-mcp"):
        config.mkdir(parents=True)
        (config / "accounts.toml").write_text(accounts_toml(sandbox))
        (config / ".env").write_text(keys + f"KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE={TIME_SCALE}\nLOG_LEVEL=WARNING\n")
    with serve(sandbox) as url:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "xdg"),
            "XDG_DATA_HOME": str(home / "data"),
            "KLAVIYO_BASE_URL": url,
        }
        done = subprocess.run(
            [sys.executable, str(REPO / "live_smoke.py"), "--account", "globex"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"live smoke: Klaviyo at {url}, account 'globex'" in done.stdout
    assert [cells[0] for cells in table_rows(done.stdout).values()] == ["ok"] * 6
    assert {e["account"] for e in sandbox.log()} == {"globex"}


def test_configuration_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("KLAVIYO_MCP_ACCOUNTS_FILE", str(tmp_path / "missing.toml"))
    assert live_smoke.main(["--account", "acme"]) == 2

    (tmp_path / "accounts.toml").write_text(accounts_toml(sandbox))
    monkeypatch.setenv("KLAVIYO_MCP_ACCOUNTS_FILE", str(tmp_path / "accounts.toml"))
    for account in sandbox.accounts:
        monkeypatch.setenv(account.key_env, account.api_key)
    assert live_smoke.main(["--account", "initech"]) == 2

    monkeypatch.setenv("KLAVIYO_TIMEOUT_SECONDS", "soon")
    assert live_smoke.main(["--account", "acme"]) == 2


def test_configuration_error_messages(tmp_path: Path, sandbox: Sandbox) -> None:
    (tmp_path / "accounts.toml").write_text(accounts_toml(sandbox))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(tmp_path / "accounts.toml"),
        **{a.key_env: a.api_key for a in sandbox.accounts},
    }
    command = [sys.executable, str(REPO / "live_smoke.py"), "--account", "initech"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "UNKNOWN_ACCOUNT: unknown account 'initech'; available accounts: acme, globex" in done.stderr
    assert done.stdout == ""

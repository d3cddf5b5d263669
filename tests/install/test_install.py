"""install.py: scaffolding, the server's own validation, the API check, and the MCP config files it writes."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import install
from klaviyo_analytics.config import SETTINGS
from klaviyo_analytics.klaviyo.endpoints import ENDPOINTS
from klaviyo_analytics.tools import CATALOG, visible_tools
from klaviyo_sandbox import Sandbox, serve
from tests.install.conftest import REPO, RESTRICTED_KEY, Run, accounts_toml

Runner = Callable[..., Run]


def entry_for(config_dir: Path) -> dict[str, object]:
    return {
        "command": str(install.venv_python()),
        "args": [str(REPO / "server.py")],
        "env": {"KLAVIYO_MCP_CONFIG_DIR": str(config_dir)},
    }


@pytest.fixture
def config_dir(tmp_path: Path, sandbox: Sandbox) -> Path:
    """A config dir holding a valid accounts.toml for the sandbox's accounts."""
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "accounts.toml").write_text(accounts_toml(sandbox))
    return directory


# -- scaffolding ----------------------------------------------------------------------------------


def test_scaffold_writes_templates_that_fail_until_filled_in(tmp_path: Path, run_install: Runner) -> None:
    config = tmp_path / "fresh" / "klaviyo-mcp"
    first = run_install("--config-dir", str(config), environ={})
    assert first.code == 1
    assert f"KLAVIYO_ACME_KEY for account 'acme' is not set; add it to {config / '.env'}" in first.err
    assert f"fill in {config / '.env'}" in first.err
    # The first run prints the entries anyway, with what is still to fill in.
    assert "still to do before the server can start:" in first.out
    assert '"mcpServers"' in first.out and str(config) in first.out
    env_file, accounts = config / ".env", config / "accounts.toml"
    assert f"{env_file}: created" in first.out and f"{accounts}: created" in first.out
    assert env_file.stat().st_mode & 0o777 == 0o600  # it will hold keys
    env_lines = env_file.read_text().splitlines()
    assert [line for line in env_lines if line and not line.startswith("#")] == ["KLAVIYO_ACME_KEY="]
    assert {s.name for s in SETTINGS} <= {line[2:].split("=")[0] for line in env_lines if "=" in line}

    # Filled in, the same files pass the server's checks: the key comes from the scaffolded .env.
    env_file.write_text(env_file.read_text().replace("KLAVIYO_ACME_KEY=", "KLAVIYO_ACME_KEY=pk_filled_in_0123456789"))
    filled = run_install("--config-dir", str(config), environ={}, transport=None)
    assert filled.code == 0, filled.err
    assert "kept (use --force to replace it)" in filled.out
    assert "acme" in filled.out and "(key from KLAVIYO_ACME_KEY)" in filled.out
    assert "pk_filled_in_0123456789" not in filled.out + filled.err


def test_scaffold_never_overwrites_without_force(
    config_dir: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    mine = config_dir / "accounts.toml"
    before = mine.read_text()
    (config_dir / ".env").write_text("KLAVIYO_MCP_LOG_LEVEL=DEBUG\n")
    assert run_install("--config-dir", str(config_dir), environ=environ).code == 0
    assert mine.read_text() == before and (config_dir / ".env").read_text() == "KLAVIYO_MCP_LOG_LEVEL=DEBUG\n"

    forced = run_install("--config-dir", str(config_dir), "--force", environ=environ)
    assert f"{mine}: replaced" in forced.out
    assert mine.read_text() == install.ACCOUNTS_TEMPLATE
    assert (config_dir / ".env").read_text() == install.env_template()


def test_no_scaffold_only_validates(tmp_path: Path, run_install: Runner, environ: dict[str, str]) -> None:
    config = tmp_path / "untouched"
    result = run_install(
        "--config-dir",
        str(config),
        "--no-scaffold",
        environ={**environ, "KLAVIYO_MCP_ACCOUNTS_FILE": str(tmp_path / "nope")},
    )
    assert result.code == 1 and "KLAVIYO_MCP_ACCOUNTS_FILE points to a file that does not exist" in result.err
    assert not config.exists()


# -- validation: the server's own fail-fast -------------------------------------------------------


def test_bad_toml_fails_with_the_reason(config_dir: Path, run_install: Runner, environ: dict[str, str]) -> None:
    (config_dir / "accounts.toml").write_text("[acme\napi_key_env = 1\n")
    result = run_install("--config-dir", str(config_dir), environ=environ)
    assert result.code == 1
    assert f"CONFIG_ERROR: cannot read {config_dir / 'accounts.toml'}" in result.err


def test_a_key_variable_that_is_not_set_is_named_and_nothing_is_written(
    config_dir: Path, tmp_path: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    del environ["KLAVIYO_GLOBEX_KEY"]
    desktop = tmp_path / "claude" / "claude_desktop_config.json"
    result = run_install("--config-dir", str(config_dir), "--write", "--desktop-config", str(desktop), environ=environ)
    assert result.code == 1
    assert "KLAVIYO_GLOBEX_KEY" in result.err and "'globex'" in result.err
    assert not desktop.exists()


# -- the MCP entries ------------------------------------------------------------------------------


def test_prints_the_entry_with_absolute_paths_and_writes_nothing_by_default(
    config_dir: Path, tmp_path: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    desktop = tmp_path / "desktop.json"
    result = run_install("--config-dir", str(config_dir), "--desktop-config", str(desktop), environ=environ)
    assert result.code == 0, result.err
    start = result.out.index('{\n  "mcpServers"')
    printed, _ = json.JSONDecoder().raw_decode(result.out[start:])
    entry = printed["mcpServers"]["klaviyo"]
    assert entry == entry_for(config_dir)
    python, server = Path(entry["command"]), Path(entry["args"][0])
    assert python.is_absolute() and python.is_file() and os.access(python, os.X_OK)
    assert server.is_absolute() and server == REPO / "server.py" and server.is_file()
    variable = f"KLAVIYO_MCP_CONFIG_DIR={config_dir}"
    assert f"claude mcp add --scope user --env {variable} klaviyo -- {python} {server}" in result.out
    assert not desktop.exists()


def test_write_creates_the_desktop_config(
    config_dir: Path, tmp_path: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    desktop = tmp_path / "Application Support" / "Claude" / "claude_desktop_config.json"
    result = run_install("--config-dir", str(config_dir), "--write", "--desktop-config", str(desktop), environ=environ)
    assert result.code == 0, result.err
    assert json.loads(desktop.read_text()) == {"mcpServers": {"klaviyo": entry_for(config_dir)}}
    assert desktop.read_text().endswith("}\n")
    assert "server 'klaviyo' added" in result.out


def test_write_keeps_other_servers_and_top_level_keys(
    config_dir: Path, tmp_path: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    desktop = tmp_path / "claude_desktop_config.json"
    github = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"X": "1"}}
    existing = {"globalShortcut": "Ctrl+Space", "mcpServers": {"github": github, "klaviyo": {"command": "old"}}}
    desktop.write_text(json.dumps(existing))
    desktop.chmod(0o640)
    args = ("--config-dir", str(config_dir), "--write", "--desktop-config", str(desktop))

    result = run_install(*args, environ=environ)
    assert result.code == 0, result.err
    written = json.loads(desktop.read_text())
    assert written == {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {"github": github, "klaviyo": entry_for(config_dir)},
    }
    assert list(written["mcpServers"]) == ["github", "klaviyo"]
    assert desktop.stat().st_mode & 0o777 == 0o640
    assert "server 'klaviyo' updated" in result.out

    again = run_install(*args, environ=environ)
    assert "server 'klaviyo' unchanged" in again.out
    assert json.loads(desktop.read_text()) == written


def test_write_merges_into_a_project_mcp_json(
    config_dir: Path, tmp_path: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"db": {"command": "db-mcp"}}}))
    desktop = tmp_path / "desktop.json"
    common = ("--config-dir", str(config_dir), "--write", "--desktop-config", str(desktop))
    result = run_install(*common, "--project-dir", str(project), "--name", "klaviyo-prod", environ=environ)
    assert result.code == 0, result.err
    assert json.loads((project / ".mcp.json").read_text()) == {
        "mcpServers": {"db": {"command": "db-mcp"}, "klaviyo-prod": entry_for(config_dir)}
    }
    assert json.loads(desktop.read_text()) == {"mcpServers": {"klaviyo-prod": entry_for(config_dir)}}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"mcpServers": {"github": {"command": "npx"},}}', "is not valid JSON"),
        ("[]", "not an object"),
        ('{"mcpServers": ["github"]}', '"mcpServers" in'),
    ],
)
def test_a_config_it_cannot_understand_is_never_touched(
    content: str, reason: str, config_dir: Path, tmp_path: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    desktop = tmp_path / "claude_desktop_config.json"
    desktop.write_text(content)
    result = run_install("--config-dir", str(config_dir), "--write", "--desktop-config", str(desktop), environ=environ)
    assert result.code == 1
    assert reason in result.err and "it was not changed" in result.err
    assert desktop.read_text() == content
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".claude_desktop")] == []  # no temp file left


def test_an_unwritable_path_fails_with_the_reason(
    config_dir: Path, tmp_path: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_install(
        "--config-dir", str(config_dir), "--write", "--desktop-config", str(blocker / "c.json"), environ=environ
    )
    assert result.code == 1 and f"cannot write {blocker / 'c.json'}" in result.err

    result = run_install("--config-dir", str(blocker / "config"), environ=environ)
    assert result.code == 1 and "cannot create the config dir" in result.err


def test_desktop_config_path_per_platform(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    name = "claude_desktop_config.json"
    mac = install.desktop_config_path("darwin", home)
    assert mac == tmp_path / "Library" / "Application Support" / "Claude" / name
    assert install.desktop_config_path("win32", {**home, "APPDATA": str(tmp_path / "Roaming")}) == (
        tmp_path / "Roaming" / "Claude" / name
    )
    assert install.desktop_config_path("win32", home) == tmp_path / "AppData" / "Roaming" / "Claude" / name
    assert install.desktop_config_path("linux", home) == tmp_path / ".config" / "Claude" / name


# -- the API check --------------------------------------------------------------------------------


def test_check_api_over_http_accepts_the_keys_and_records_timezones(
    sandbox: Sandbox, config_dir: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    with serve(sandbox) as url:  # the product's real HTTP path, not an in-process transport
        result = run_install(
            "--config-dir", str(config_dir), "--check-api", environ={**environ, "KLAVIYO_BASE_URL": url}, transport=None
        )
    assert result.code == 0, result.err
    tools = visible_tools(False)
    for account in sandbox.accounts:
        assert f"{account.slug}: key accepted" in result.out
    assert result.out.count(f"all {len(tools)} tools have the scopes they need") == 2
    assert "MISSING" not in result.out
    text = (config_dir / "accounts.toml").read_text()
    assert "# written by the install tests: this comment must survive every edit" in text
    assert "# the key lives in .env" in text
    document = tomllib.loads(text)
    assert {slug: entry["timezone"] for slug, entry in document.items()} == {
        a.slug: a.timezone for a in sandbox.accounts
    }
    # ...and each account's currency, which every money answer then states (USD and GBP here).
    assert {slug: entry["currency"] for slug, entry in document.items()} == {"acme": "USD", "globex": "GBP"}
    assert "currency GBP: recorded in" in result.out
    served = {(e["method"], e["path"]) for e in sandbox.log()}
    assert ("GET", "/api/accounts") in served
    assert all(method == "GET" for method, _ in served), "a check must never write"


def test_check_api_names_the_tools_a_restricted_key_cannot_serve(
    config_dir: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    environ["KLAVIYO_GLOBEX_KEY"] = RESTRICTED_KEY  # accounts:read, campaigns:read, metrics:read only
    result = run_install("--config-dir", str(config_dir), "--check-api", environ=environ)
    assert result.code == 0, result.err  # a narrower key is a choice, reported, not a failure
    globex = result.out[result.out.index("  globex:") :]
    missing = {"flows:read", "forms:read", "lists:read", "profiles:read", "segments:read", "webhooks:read"}
    assert "scopes MISSING: flows:read, forms:read, lists:read, profiles:read, segments:read, webhooks:read" in globex
    for tool in visible_tools(False):
        lacking = sorted(set(tool.scopes) & missing)
        line = f"warning: {tool.name} fails with MISSING_SCOPE: the key lacks {', '.join(lacking)}"
        assert (line in globex) == bool(lacking), tool.name
    acme = result.out[result.out.index("  acme:") : result.out.index("  globex:")]
    assert "MISSING" not in acme


def test_check_api_fails_on_a_rejected_key(config_dir: Path, run_install: Runner, environ: dict[str, str]) -> None:
    environ["KLAVIYO_ACME_KEY"] = "pk_not_a_key_the_sandbox_knows"
    result = run_install("--config-dir", str(config_dir), "--check-api", environ=environ)
    assert result.code == 1
    assert "acme: FAILED: Klaviyo rejected the key in KLAVIYO_ACME_KEY" in result.out
    assert "globex: key accepted" in result.out
    assert "API check failed" in result.err
    assert "pk_not_a_key_the_sandbox_knows" not in result.out + result.err


def test_check_api_spots_a_conversion_metric_that_is_not_there(
    sandbox: Sandbox, tmp_path: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "accounts.toml").write_text(accounts_toml(sandbox, acme="NoSuch1"))
    result = run_install("--config-dir", str(config), "--check-api", environ=environ)
    placed_order = sandbox.accounts[0].conversion_metric_id
    assert "NoSuch1 is not a metric here" in result.out
    # An id that is set is never overwritten: the user is told which to put instead.
    assert f'conversion_metric_id: replace it with "{placed_order}"' in result.out
    assert 'conversion_metric_id = "NoSuch1"' in (config / "accounts.toml").read_text()
    assert result.code == 0


def test_check_api_finds_and_records_the_placed_order_metric(
    sandbox: Sandbox, tmp_path: Path, run_install: Runner, environ: dict[str, str]
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    text = re.sub(r'conversion_metric_id = "\w+"\n', "", accounts_toml(sandbox))
    (config / "accounts.toml").write_text("# my accounts\n" + text)
    result = run_install("--config-dir", str(config), "--check-api", environ=environ)
    assert result.code == 0, result.err
    written = (config / "accounts.toml").read_text()
    assert written.startswith("# my accounts\n"), "comments are kept"
    recorded = tomllib.loads(written)
    assert recorded["acme"]["conversion_metric_id"] == sandbox.accounts[0].conversion_metric_id
    assert recorded["globex"]["conversion_metric_id"] == sandbox.accounts[1].conversion_metric_id
    assert f"conversion metric 'Placed Order' {sandbox.accounts[0].conversion_metric_id}: recorded in" in result.out


def test_several_placed_order_metrics_are_listed_and_the_chosen_one_recorded(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text('[acme]\napi_key_env = "K"\nlabel = "A"\n')
    account = install.Account("acme", "A", "K", None, "pk_x_0123456789")
    out = io.StringIO()
    candidates = [("M1", "Shopify"), ("M2", "Klaviyo")]
    install.record_metric(path, account, candidates, out, lambda slug, found: None)
    assert "several 'Placed Order' metrics: M1 (Shopify), M2 (Klaviyo)" in out.getvalue()
    assert "add one of M1 (Shopify), M2 (Klaviyo) to [acme]" in out.getvalue()
    assert "conversion_metric_id" not in path.read_text()
    install.record_metric(path, account, candidates, out, lambda slug, found: found[1][0])
    assert tomllib.loads(path.read_text())["acme"]["conversion_metric_id"] == "M2"


def test_every_read_scope_of_the_catalog_has_a_probe_from_the_endpoints_table() -> None:
    probes = install.scope_probes()
    needed = {scope for tool in CATALOG for scope in tool.scopes if scope.endswith(":read")} | {"accounts:read"}
    assert needed <= set(probes)
    by_operation = {e.operation_id: e for e in ENDPOINTS}
    for scope, probe in probes.items():
        endpoint = by_operation[probe.operation]
        assert endpoint.method == "GET" and endpoint.scopes == (scope,) and endpoint.template == probe.path


def test_record_timezone_leaves_what_it_cannot_edit_safely(tmp_path: Path) -> None:
    inline = tmp_path / "accounts.toml"
    inline.write_text('acme = { api_key_env = "K", conversion_metric_id = "M1", label = "A" }\n')
    assert install.record_timezone(inline, "acme", "Europe/London") is False
    assert "timezone" not in inline.read_text()


# -- as a command ---------------------------------------------------------------------------------


def test_the_command_end_to_end(config_dir: Path, tmp_path: Path, environ: dict[str, str]) -> None:
    desktop = tmp_path / "claude_desktop_config.json"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **environ}
    argv = ["--config-dir", str(config_dir), "--no-scaffold", "--write", "--desktop-config", str(desktop)]
    done = subprocess.run(
        [sys.executable, str(REPO / "install.py"), *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(desktop.read_text()) == {"mcpServers": {"klaviyo": entry_for(config_dir)}}


def test_without_the_project_packages_it_says_how_to_get_them(tmp_path: Path) -> None:
    # -S: no site-packages, as with a system python that never ran `make venv`.
    done = subprocess.run([sys.executable, "-S", str(REPO / "install.py")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "run `make venv`, then `.venv/bin/python install.py`" in done.stderr


@pytest.mark.slow
def test_the_printed_entry_runs_as_claude_runs_it(sandbox: Sandbox, tmp_path: Path) -> None:
    """`install.py --config-dir DIR`'s entry, run from / with an empty environment plus only the entry's
    own `env` (`env -i`), as Claude Desktop starts it: it finds DIR's .env and accounts.toml and answers."""
    config = tmp_path / "my-config"
    config.mkdir()
    (config / "accounts.toml").write_text(accounts_toml(sandbox))
    with serve(sandbox) as url:
        (config / ".env").write_text(
            f"KLAVIYO_BASE_URL={url}\n" + "".join(f"{a.key_env}={a.api_key}\n" for a in sandbox.accounts)
            + f"KLAVIYO_MCP_LEDGER_PATH={tmp_path / 'ledger.sqlite3'}\nQUOTA_STORE=memory://\n"
        )  # fmt: skip
        printed = subprocess.run(
            [sys.executable, str(REPO / "install.py"), "--config-dir", str(config), "--no-scaffold"],
            cwd=tmp_path, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert printed.returncode == 0, printed.stderr
        start = printed.stdout.index('{\n  "mcpServers"')
        entry = json.JSONDecoder().raw_decode(printed.stdout[start:])[0]["mcpServers"]["klaviyo"]
        own_env = [f"{name}={value}" for name, value in entry["env"].items()]
        server = subprocess.Popen(
            ["env", "-i", *own_env, entry["command"], *entry["args"]],
            cwd="/", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "claude", "version": "1"}}
        messages = [
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "klaviyo_list_accounts"}},
        ]
        assert server.stdin and server.stdout
        server.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        server.stdin.flush()
        answers: dict[int, Any] = {}
        try:
            while 2 not in answers:
                line = server.stdout.readline()
                assert line, f"the server stopped: {server.stderr.read() if server.stderr else ''}"
                message = json.loads(line)
                if "id" in message:
                    answers[message["id"]] = message
        finally:
            server.stdin.close()
            server.wait(timeout=30)
            server.stdout.close()
            if server.stderr:
                server.stderr.close()
    result = answers[2]["result"]
    assert not result.get("isError"), result
    names = [a["name"] for a in result["structuredContent"]["data"]["accounts"]]
    assert names == sorted(a.slug for a in sandbox.accounts)

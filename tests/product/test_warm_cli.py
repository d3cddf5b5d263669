"""``python -m klaviyo_analytics warm``: what it prints (per account, or JSON), its exit codes, and the
docs' schedules — the cron line and the systemd units run as a scheduler would run them, against a
sandbox on loopback, leaving answers a later process reads without a report call."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.session import run_session
from klaviyo_analytics.config import load_settings
from klaviyo_analytics.service import KlaviyoService, build_service
from klaviyo_analytics.service import warm as warm_command
from klaviyo_sandbox import Sandbox, accounts_toml, serve
from tests.product.conftest import TODAY
from tests.product.test_warm import WARM_SCALE, process, report_calls, warm_sandbox
from tests.readme_recipes import REPO, recipe

TITLE = "Answers before anyone asks"
DEPLOYED = "/opt/klaviyo-mcp"


def run_main(
    service: KlaviyoService, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("klaviyo_analytics.service.build_service", lambda settings: service)
    monkeypatch.setattr("klaviyo_analytics.config.load_settings", lambda: service.settings)
    code = warm_command.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_prints_what_it_spent_per_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = warm_sandbox()
    code, out, _ = run_main(process(sandbox, tmp_path), monkeypatch, capsys, "--all", "--json")
    assert code == 0
    document = json.loads(out)  # stdout holds the JSON document alone
    runs = {run["account"]: run for run in document["accounts"]}
    assert sorted(runs) == ["acme", "globex"] and document["budget_share"] == 0.3
    assert sum(run["report_calls"] for run in runs.values()) == sum(report_calls(sandbox).values())
    assert all(run["warmed"] > 0 and run["skipped"] == [] and run["kept_for_people"] == 158 for run in runs.values())

    code, out, _ = run_main(process(sandbox, tmp_path), monkeypatch, capsys, "--account", "globex")
    assert code == 0
    assert re.fullmatch(
        r"globex: 0 report calls, 0 answers warmed, \d+ already cached, 0 skipped \(.*158 kept.*\)\n", out
    )


def test_an_exhausted_budget_stops_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = warm_sandbox()
    service = process(sandbox, tmp_path, KLAVIYO_MCP_WARM_BUDGET_SHARE="0.01")  # 2 calls a day per report
    code, out, _ = run_main(service, monkeypatch, capsys, "--account", "acme")
    assert code == 1
    assert "\n  STOPPED: the warm budget of query_campaign_values is used (2 of 225" in out
    assert "223 are left for people's questions" in out
    assert max(report_calls(sandbox).values()) == 2


def test_what_the_command_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = warm_sandbox()
    code, _, err = run_main(process(sandbox, tmp_path), monkeypatch, capsys, "--account", "nobody")
    assert code == 2 and err.startswith("UNKNOWN_ACCOUNT: ")
    (tmp_path / "m").mkdir()
    memory = process(sandbox, tmp_path / "m", KLAVIYO_MCP_QUOTA_STORE="memory://")
    code, out, err = run_main(memory, monkeypatch, capsys, "--all")
    assert code == 2 and out == "" and "KLAVIYO_MCP_QUOTA_STORE=memory://" in err
    code, out, _ = run_main(process(sandbox, tmp_path), monkeypatch, capsys, "--all", "--dry-run")
    assert code == 0 and out.startswith(
        "accounts: acme, globex\nklaviyo_get_campaign_performance(timeframe=last_30_days)"
    )
    assert sandbox.log() == []  # a dry run asks Klaviyo nothing


# -- the docs' schedules, run as the scheduler runs them ----------------------------------------------


@contextmanager
def deployed(tmp_path: Path) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    """A sandbox on loopback and the environment a scheduled job of a server using it would have."""
    sandbox = warm_sandbox()
    (tmp_path / "accounts.toml").write_text(accounts_toml(sandbox.accounts))
    with serve(sandbox) as base_url:
        yield (
            sandbox,
            {
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(tmp_path),
                "XDG_DATA_HOME": str(tmp_path / "data"),
                "XDG_CONFIG_HOME": str(tmp_path / "config"),
                "KLAVIYO_MCP_ACCOUNTS_FILE": str(tmp_path / "accounts.toml"),
                "KLAVIYO_MCP_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),  # the quota store goes beside it
                "KLAVIYO_BASE_URL": base_url,
                "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": str(WARM_SCALE),
                "KLAVIYO_MCP_TODAY": TODAY.isoformat(),
                "KLAVIYO_MCP_LOG_LEVEL": "WARNING",
                **{a.key_env: a.api_key for a in sandbox.accounts},
            },
        )


def here(command: str) -> str:
    """The deployed command in this checkout: its directory, and this test run's interpreter."""
    python = "\0python\0"  # the interpreter's own path may hold ".venv/bin/python": swapped in last
    moved = command.replace(f"{DEPLOYED}/.venv/bin/python", python).replace(".venv/bin/python", python)
    return moved.replace(DEPLOYED, str(REPO)).replace(python, sys.executable)


def run_scheduled(command: str, env: dict[str, str], cwd: Path = REPO) -> str:
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def assert_warmed_for_a_later_server(sandbox: Sandbox, env: dict[str, str], out: str) -> None:
    assert re.search(r"^acme: \d+ report calls, \d+ answers warmed", out, re.M), out
    assert re.search(r"^globex: \d+ report calls", out, re.M), out
    before = report_calls(sandbox)
    assert sum(before.values()) > 0
    server = build_service(load_settings(env, use_dotenv=False))  # the server the job warmed for
    assert all(r["ok"] for r in run_session(server, 0.0))
    assert report_calls(sandbox) == before, "the session spent a report call after the scheduled warm"


def unit(block: str) -> tuple[str, configparser.ConfigParser]:
    """(file name, parsed unit) of a unit block whose first line names its path."""
    first, _, body = block.partition("\n")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(body)
    return first.removeprefix("# ").strip(), parser


@pytest.mark.slow
def test_the_cron_line_warms_every_account(tmp_path: Path) -> None:
    lines = [ln for ln in recipe(TITLE, "test_the_cron_line_warms_every_account").code.splitlines() if ln.strip()]
    entry = next(ln for ln in lines if not ln.startswith("#"))
    *schedule, command = entry.split(None, 5)
    assert all(re.fullmatch(r"[\d*/,-]+", field) for field in schedule) and len(schedule) == 5, entry
    assert "warm --all" in command
    with deployed(tmp_path) as (sandbox, env):
        assert_warmed_for_a_later_server(sandbox, env, run_scheduled(here(command), env))


@pytest.mark.slow
def test_the_systemd_service_runs_warm(tmp_path: Path) -> None:
    name, service = unit(recipe(TITLE, "test_the_systemd_service_runs_warm").code)
    assert name == "/etc/systemd/system/klaviyo-warm.service"
    assert service["Service"]["Type"] == "oneshot"  # runs to the end, then the timer waits for the next time
    with deployed(tmp_path) as (sandbox, env):
        out = run_scheduled(
            here(service["Service"]["ExecStart"]), env, Path(here(service["Service"]["WorkingDirectory"]))
        )
        assert_warmed_for_a_later_server(sandbox, env, out)


def test_the_systemd_timer_starts_the_service() -> None:
    name, timer = unit(recipe(TITLE, "test_the_systemd_timer_starts_the_service").code)
    # A timer starts the service of its own name unless it says otherwise.
    assert name == "/etc/systemd/system/klaviyo-warm.timer" and "Unit" not in timer["Timer"]
    assert timer["Timer"]["Persistent"] == "true"  # a run missed while the machine was off happens at boot
    assert timer["Install"]["WantedBy"] == "timers.target"
    if shutil.which("systemd-analyze"):
        calendar = timer["Timer"]["OnCalendar"]
        done = subprocess.run(["systemd-analyze", "calendar", calendar], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_units_pass_systemd_verify(tmp_path: Path) -> None:
    recipe(TITLE, "test_the_units_pass_systemd_verify")  # the block that enables the units below
    paths = []
    for test in ("test_the_systemd_service_runs_warm", "test_the_systemd_timer_starts_the_service"):
        block = recipe(TITLE, test).code
        name, _ = unit(block)
        path = tmp_path / Path(name).name
        path.write_text(here(block.partition("\n")[2]))  # the unit, pointing at this checkout
        paths.append(str(path))
    done = subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "klaviyo-warm" not in done.stderr, done.stderr

"""live_smoke.py: the questions Claude asks most, end to end, through the product's own catalog.

    .venv/bin/python live_smoke.py                  against the Klaviyo sandbox, started on loopback
    .venv/bin/python live_smoke.py --account acme   against real Klaviyo: your .env and accounts.toml

Six checks, each one catalog tool run exactly as the MCP and REST adapters run it
(``run_tool`` over a ``KlaviyoService``): account listing, campaign performance over the last
30 days, flow listing, the structure of the first flow, a weekly flow series over 90 days and
list health. A key that lacks a scope is a warning, not a failure; a tool missing from the
catalog is skipped. The summary table goes to stdout, logs to stderr.

Exit status: 0 every check passed (warnings and skips allowed), 1 a check failed,
2 the configuration is unusable (no accounts file, a key not set, an unknown account).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.errors import KlaviyoMCPError, MissingScopeError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.logs import configure_logging
from klaviyo_analytics.service import CallContext, KlaviyoService, build_service
from klaviyo_analytics.tools import ToolSpec, get_tool, run_tool
from klaviyo_sandbox import Sandbox, SandboxConfig, accounts_toml, serve

# Klaviyo's rate-limit windows shrunk 100x in the sandbox and in the product's pacer alike:
# the pacing logic runs for real, the report limits (2 a minute) cost well under a second.
SANDBOX_TIME_SCALE = 0.01
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
NOTE_WIDTH = 70

Results = Mapping[str, dict[str, Any]]  # check name -> the data of its envelope, for checks that passed


@dataclass(frozen=True)
class Check:
    name: str
    tool: str
    # The tool's arguments, given the account and earlier results; a str instead says why it is skipped.
    arguments: Callable[[str, Results], dict[str, Any] | str]
    summary: Callable[[dict[str, Any]], str]


def _first_flow(account: str, results: Results) -> dict[str, Any] | str:
    if "flows" not in results:
        return "needs the flow listing"
    flows = results["flows"]["flows"]
    return {"account": account, "flow_id": flows[0]["flow_id"]} if flows else "the account has no flows"


CHECKS: tuple[Check, ...] = (
    Check(
        "accounts",
        "klaviyo_list_accounts",
        lambda account, _: {},
        lambda data: f"{len(data['accounts'])} configured",
    ),
    Check(
        "campaigns, last 30 days",
        "klaviyo_get_campaign_performance",
        lambda account, _: {"account": account, "timeframe": "last_30_days"},
        lambda data: f"{data['campaign_count']} campaign rows",
    ),
    Check(
        "flows",
        "klaviyo_get_flows",
        lambda account, _: {"account": account},
        lambda data: f"{data['flow_count']} flows",
    ),
    Check(
        "first flow's structure",
        "klaviyo_get_flow_structure",
        _first_flow,
        lambda data: f"{data['flow_name']}: {data['action_count']} actions",
    ),
    Check(
        "weekly flow series, 90 days",
        "klaviyo_get_performance_over_time",
        lambda account, _: {"account": account, "entity": "flow", "timeframe": "last_90_days", "interval": "weekly"},
        lambda data: f"{len(data['series'])} series x {len(data['date_times'])} weeks",
    ),
    Check(
        "list health",
        "klaviyo_get_list_health",
        lambda account, _: {"account": account},
        lambda data: f"{data['list_count']} lists, {data['total_profiles']} profiles",
    ),
)


@dataclass(frozen=True)
class Outcome:
    check: str
    result: str  # "ok", "warning", "FAILED" or "skipped"
    latency_ms: float | None
    note: str


def catalog_tool(name: str) -> ToolSpec | None:
    try:
        return get_tool(name)
    except KeyError:
        return None


def run_checks(
    service: KlaviyoService,
    account: str,
    lookup: Callable[[str], ToolSpec | None] = catalog_tool,
    checks: Sequence[Check] = CHECKS,
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    results: dict[str, dict[str, Any]] = {}
    for check in checks:
        spec = lookup(check.tool)
        arguments = check.arguments(account, results) if spec is not None else "tool not available"
        if spec is None or isinstance(arguments, str):
            outcomes.append(Outcome(check.name, "skipped", None, f"skipped: {arguments}"))
            continue
        ctx = CallContext(Deadline(service.settings.tool_deadline_seconds), caller="live_smoke")
        started = time.perf_counter()
        try:
            envelope = run_tool(spec, service, arguments, ctx)
        except MissingScopeError as exc:
            outcomes.append(Outcome(check.name, "warning", _ms(started), f"{exc.code}: {exc.message}"))
            continue
        except KlaviyoMCPError as exc:
            outcomes.append(Outcome(check.name, "FAILED", _ms(started), f"{exc.code}: {exc.message}"))
            continue
        except Exception as exc:  # a smoke test reports a crash and goes on to the next check
            outcomes.append(Outcome(check.name, "FAILED", _ms(started), f"crashed: {type(exc).__name__}: {exc}"))
            continue
        latency = _ms(started)
        try:
            note = check.summary(envelope["data"])
        except (KeyError, IndexError, TypeError) as exc:
            outcomes.append(Outcome(check.name, "FAILED", latency, f"unexpected result shape: {exc!r}"))
            continue
        results[check.name] = envelope["data"]
        warnings = envelope["warnings"]
        if warnings:
            note += f" ({len(warnings)} warning{'s' * (len(warnings) > 1)}: {warnings[0]})"
        outcomes.append(Outcome(check.name, "ok", latency, note))
    return outcomes


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def render(outcomes: Sequence[Outcome]) -> str:
    rows = [("check", "result", "latency", "note")]
    for o in outcomes:
        latency = "-" if o.latency_ms is None else f"{o.latency_ms:,.0f} ms"
        note = o.note if len(o.note) <= NOTE_WIDTH else o.note[: NOTE_WIDTH - 1] + "…"
        rows.append((o.check, o.result, latency, note))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for n, row in enumerate(rows):
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip())
        if n == 0:
            lines.append("-" * (sum(widths) + 6 + NOTE_WIDTH))
    return "\n".join(lines)


def exit_code(outcomes: Sequence[Outcome]) -> int:
    return EXIT_FAILED if any(o.result == "FAILED" for o in outcomes) else EXIT_OK


@contextmanager
def sandbox_target() -> Iterator[tuple[Settings, str]]:
    """A time-scaled sandbox on a free loopback port, and settings that point the product at it."""
    sandbox = Sandbox(SandboxConfig(time_scale=SANDBOX_TIME_SCALE))
    with tempfile.TemporaryDirectory(prefix="live-smoke-") as tmp, serve(sandbox, host="127.0.0.1", port=0) as url:
        accounts_file = Path(tmp) / "accounts.toml"
        accounts_file.write_text(accounts_toml(sandbox.accounts), encoding="utf-8")
        environ = {
            "KLAVIYO_MCP_ACCOUNTS_FILE": str(accounts_file),
            "KLAVIYO_BASE_URL": url,
            "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": str(SANDBOX_TIME_SCALE),
            "KLAVIYO_MCP_LEDGER_PATH": str(Path(tmp) / "ledger.sqlite3"),
            "KLAVIYO_MCP_LOG_LEVEL": "WARNING",
            **{a.key_env: a.api_key for a in sandbox.accounts},
        }
        # Only this environment: the user's own .env and keys play no part in a sandbox run.
        yield load_settings(environ, use_dotenv=False), sandbox.accounts[0].slug


def smoke(settings: Settings, account: str, target: str) -> int:
    configure_logging(settings.log_level)
    try:
        service = build_service(settings)
    except KlaviyoMCPError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        service.account(account)
        print(f"live smoke: {target}, account {account!r}\n")
        outcomes = run_checks(service, account)
    except KlaviyoMCPError as exc:  # an unknown account
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        service.client.close()
    print(render(outcomes))
    code = exit_code(outcomes)
    print(f"\n{'all checks passed' if code == EXIT_OK else 'a check FAILED'}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="live_smoke.py", description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--account", help="run against real Klaviyo with this account from your accounts.toml (default: sandbox)"
    )
    args = parser.parse_args(argv)
    if args.account is None:
        with sandbox_target() as (settings, account):
            return smoke(settings, account, f"sandbox at {settings.klaviyo_base_url}")
    try:
        settings = load_settings()
    except KlaviyoMCPError as exc:
        print(f"{exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_CONFIG
    return smoke(settings, args.account, f"Klaviyo at {settings.klaviyo_base_url}")


if __name__ == "__main__":
    sys.exit(main())

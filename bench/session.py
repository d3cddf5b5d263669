"""A scripted 10-question chat session on one sandbox account, run twice: once cold, once after a restart.

    .venv/bin/python bench/session.py [--time-scale 1] [--gap 2] [--pause auto]

Each run is a new process (``--child``) wired the ordinary way (settings from the environment,
``build_service``), so it uses whatever cache/quota store the environment configures
(``KLAVIYO_MCP_QUOTA_STORE`` is passed through; both runs share one data directory). The sandbox is served
on loopback by this parent process, which counts the report calls in its log. A question is
asked ``--gap`` seconds after the previous answer, as a person reading would; the time scale,
if not 1, shrinks the sandbox's windows, the product's pacer and the gap alike.

The number of report calls the session *needs* is computed from the questions: the distinct
(endpoint, window) pairs their tools read (series endpoints also by interval), after chunking.
With ``--warm``, ``python -m klaviyo_analytics warm --account acme`` runs first, in its own process
on the same data directory (as a cron job would), and the session's first run is the one after it.
Results go to stdout and bench/results/session.md (session_warm.md with ``--warm``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.product import publish  # noqa: E402
from klaviyo_analytics.rules.timeframes import Period, chunk, resolve_period  # noqa: E402
from klaviyo_analytics.schemas.trends import OverTimeParams  # noqa: E402
from klaviyo_analytics.service import segments, trends  # noqa: E402

ACCOUNT = "acme"
# (what the person asks, tool, arguments); "$top_campaign" / "$top_flow" come from earlier answers.
QUESTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("How did our campaigns do over the last 30 days?",
     "klaviyo_get_campaign_performance", {"timeframe": "last_30_days"}),
    ("How does that compare with the 30 days before?",
     "klaviyo_compare_periods", {"entity": "campaign", "timeframe": "last_30_days"}),
    ("Tell me more about the top campaign.",
     "klaviyo_get_campaign_performance", {"timeframe": "last_30_days", "campaign": "$top_campaign"}),
    ("Which flows brought in the most revenue?",
     "klaviyo_get_flow_performance", {"timeframe": "last_30_days", "rollup": True}),
    ("Break the top flow down by message.",
     "klaviyo_get_flow_performance", {"timeframe": "last_30_days", "flow": "$top_flow"}),
    ("Show the top flow day by day.",
     "klaviyo_get_performance_over_time",
     {"entity": "flow", "interval": "daily", "timeframe": "last_30_days", "entity_id": "$top_flow"}),
    ("Just its open rate and revenue, per day.",
     "klaviyo_get_performance_over_time",
     {"entity": "flow", "interval": "daily", "timeframe": "last_30_days", "entity_id": "$top_flow",
      "statistics": ["open_rate", "conversion_value"]}),
    ("Are flows up or down on the 30 days before?",
     "klaviyo_compare_periods", {"entity": "flow", "timeframe": "last_30_days"}),
    ("How healthy are our lists?", "klaviyo_get_list_health", {}),
    ("Which segments grew the most this past month?", "klaviyo_get_segment_growth", {"timeframe": "last_30_days"}),
]  # fmt: skip
REPORT_SUFFIX = "-reports"

BENCH_TODAY = date(2026, 12, 7)


def needed_reports(questions: list[tuple[str, str, dict[str, Any]]], today: date) -> set[tuple[str, Period]]:
    """The distinct (report endpoint, window) pairs the questions' tools read, from Klaviyo's rules:
    values reports cover at most a year; a series at most its interval's limit, per interval."""
    needs: set[tuple[str, Period]] = set()
    for _, tool, args in questions:
        period = resolve_period(None, None, args.get("timeframe"), today, required=False)
        if period is None:
            continue
        entity = args.get("entity")
        if tool in {"klaviyo_get_campaign_performance", "klaviyo_get_flow_performance"}:
            kind = "campaign" if tool == "klaviyo_get_campaign_performance" else "flow"
            needs |= {(f"{kind}-values", window) for window in chunk(period)}
        elif tool == "klaviyo_compare_periods":
            needs |= {(f"{entity}-values", w) for p in (period, period.preceding()) for w in chunk(p)}
        elif tool == "klaviyo_get_performance_over_time" and entity == "flow":
            interval = OverTimeParams.model_fields["interval"].default if "interval" not in args else args["interval"]
            windows = chunk(period, trends.INTERVAL_MAX_DAYS[interval])
            needs |= {(f"flow-series/{interval}", window) for window in windows}
        elif tool == "klaviyo_get_segment_growth":
            interval = args.get("interval", "weekly")
            needs |= {(f"segment-series/{interval}", w) for w in chunk(period, segments.INTERVAL_MAX_DAYS[interval])}
    return needs


def resolve_args(args: dict[str, Any], found: dict[str, str]) -> dict[str, Any]:
    return {k: found.get(v, v) if isinstance(v, str) else v for k, v in args.items()}


def remember(tool: str, args: dict[str, Any], data: Any, found: dict[str, str]) -> None:
    if tool == "klaviyo_get_campaign_performance" and "campaign" not in args and data["campaigns"]:
        found.setdefault("$top_campaign", data["campaigns"][0]["campaign_id"])
    if tool == "klaviyo_get_flow_performance" and args.get("rollup") and data["flows"]:
        found.setdefault("$top_flow", data["flows"][0]["flow_id"])


def run_session(service: Any, gap: float, sleep: Any = time.sleep) -> list[dict[str, Any]]:
    """Ask every question in order, ``gap`` seconds after the previous answer; one record per question."""
    from klaviyo_analytics.errors import KlaviyoMCPError
    from klaviyo_analytics.klaviyo.deadline import Deadline
    from klaviyo_analytics.service import CallContext
    from klaviyo_analytics.tools import get_tool, run_tool

    found: dict[str, str] = {}
    records = []
    for index, (text, tool, raw_args) in enumerate(QUESTIONS):
        if index:
            sleep(gap)
        args = {"account": ACCOUNT, **resolve_args(raw_args, found)}
        started = time.perf_counter()
        ctx = CallContext(Deadline(service.settings.tool_deadline_seconds))
        code = None
        try:
            remember(tool, args, run_tool(get_tool(tool), service, args, ctx)["data"], found)
        except KlaviyoMCPError as exc:  # what an adapter would show as the error result
            code = exc.code
        seconds = time.perf_counter() - started
        records.append({"question": text, "tool": tool, "ok": code is None, "code": code,
                        "seconds": round(seconds, 3)})  # fmt: skip
    return records


def child(base_url: str) -> int:
    """One run in this process: the ordinary wiring from the environment, records as JSON on stdout."""
    from klaviyo_analytics.config import load_settings
    from klaviyo_analytics.service import build_service

    settings = load_settings()
    service = build_service(settings)
    assert settings.klaviyo_base_url == base_url
    print(json.dumps(run_session(service, float(os.environ["SESSION_GAP_SECONDS"]))))
    return 0


def run_warm(env: dict[str, str]) -> dict[str, Any]:
    """``python -m klaviyo_analytics warm --account acme --json`` in its own process; its account's record."""
    command = [sys.executable, "-m", "klaviyo_analytics", "warm", "--account", ACCOUNT, "--json"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    if out.returncode:
        sys.stderr.write(out.stdout[-2000:] + out.stderr[-4000:])
        raise SystemExit(f"the warm command failed (exit {out.returncode})")
    (record,) = json.loads(out.stdout)["accounts"]
    return dict(record)


def run_child(base_url: str, env: dict[str, str]) -> list[dict[str, Any]]:
    out = subprocess.run([sys.executable, __file__, "--child", base_url], env=env, capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"the session process failed (exit {out.returncode})")
    records: list[dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", metavar="BASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--time-scale", type=float, default=1.0, help="1 = Klaviyo's real windows")
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between an answer and the next question")
    parser.add_argument("--pause", default="auto", help="seconds between the runs (auto: one steady window)")
    parser.add_argument("--warm", action="store_true", help="run the warm command before the session")
    args = parser.parse_args()
    if args.child:
        return child(args.child)

    from klaviyo_analytics.clock import pinned_on
    from klaviyo_sandbox import Sandbox, SandboxConfig, accounts_toml, serve

    scale = args.time_scale
    pause = 60 * scale if args.pause == "auto" else float(args.pause)
    # One pinned today for the sandbox and the product (KLAVIYO_MCP_TODAY): comparable runs on any day.
    today = BENCH_TODAY
    sandbox = Sandbox(SandboxConfig(seed=7, time_scale=scale, clock=pinned_on(today)))
    needed = needed_reports(QUESTIONS, today)
    runs = []
    with tempfile.TemporaryDirectory() as tmp, serve(sandbox) as base_url:
        directory = Path(tmp)
        (directory / "accounts.toml").write_text(accounts_toml(sandbox.accounts))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(directory),
            "XDG_DATA_HOME": str(directory / "data"),
            "XDG_CONFIG_HOME": str(directory / "config"),
            "KLAVIYO_MCP_ACCOUNTS_FILE": str(directory / "accounts.toml"),
            "KLAVIYO_BASE_URL": base_url,
            "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": str(scale),
            "KLAVIYO_MCP_TODAY": today.isoformat(),
            "SESSION_GAP_SECONDS": str(args.gap * scale),
            "KLAVIYO_MCP_LOG_LEVEL": "WARNING",
            **{a.key_env: a.api_key for a in sandbox.accounts},
            **{k: v for k, v in os.environ.items() if k == "KLAVIYO_MCP_QUOTA_STORE"},
        }
        warmed: dict[str, Any] | None = None
        if args.warm:
            before = len(sandbox.log())
            started = time.perf_counter()
            warmed = run_warm(env)
            entries = sandbox.log()[before:]
            warmed["seconds"] = time.perf_counter() - started
            warmed["served"] = sum(1 for e in entries if e["path"].endswith(REPORT_SUFFIX) and e["status"] == 200)
            time.sleep(pause)
        first = "after warm" if args.warm else "cold start"
        for label in (first, "rerun after a restart"):
            if runs:
                time.sleep(pause)
            before = len(sandbox.log())
            started = time.perf_counter()
            records = run_child(base_url, env)
            entries = sandbox.log()[before:]
            reports = [e for e in entries if e["path"].endswith(REPORT_SUFFIX)]
            runs.append({
                "label": label, "records": records, "seconds": time.perf_counter() - started,
                "report_calls": sum(1 for e in reports if e["status"] == 200),
                "throttled": sum(1 for e in entries if e["status"] == 429), "calls": len(entries),
            })  # fmt: skip
    store = os.environ.get("KLAVIYO_MCP_QUOTA_STORE", "(the product's default)")
    lines = [
        f"Session of {len(QUESTIONS)} questions, time scale {scale}, {args.gap} s between an answer and the next "
        f"question, {pause:.1f} s between the runs; KLAVIYO_MCP_QUOTA_STORE={store}. Report calls needed (distinct "
        f"endpoint, window pairs): {len(needed)}.",
        "",
        "| run | questions answered | failed | report calls | all Klaviyo calls | 429s | wall s | slowest answer s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    if warmed is not None:
        lines.insert(2, (
            f"Before the session, `python -m klaviyo_analytics warm --account {ACCOUNT}` (its own process, the same "
            f"store): {warmed['served']} report calls served, {warmed['report_calls']} counted by the command, "
            f"{warmed['warmed']} answers warmed, {warmed['cached']} already cached, {len(warmed['skipped'])} skipped, "
            f"{warmed['seconds']:.1f} s.\n"
        ))  # fmt: skip
    for run in runs:
        records = run["records"]
        failed = [f"{r['tool']} {r['code']}" for r in records if not r["ok"]]
        lines.append(
            f"| {run['label']} | {sum(r['ok'] for r in records)}/{len(records)} | {', '.join(failed) or 0} | "
            f"{run['report_calls']} | {run['calls']} | {run['throttled']} | {run['seconds']:.1f} | "
            f"{max(r['seconds'] for r in records):.2f} |"
        )
    lines += ["", f"| # | question | tool | seconds ({first}) | seconds (rerun) |", "|---|---|---|---|---|"]
    for n, (first, second) in enumerate(zip(runs[0]["records"], runs[1]["records"], strict=True), 1):
        lines.append(f"| {n} | {first['question']} | {first['tool']} | {first['seconds']} | {second['seconds']} |")
    publish("session_warm" if args.warm else "session", "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

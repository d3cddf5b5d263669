"""``warm`` on the sandbox: after it, the session benchmark's questions cost no report call in a new
process on the same store; it stops at its share of the daily budget and leaves the rest to people;
"last month" and "month to date" come from the pinned clock (a month's last day, a month's first)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bench.session import QUESTIONS, needed_reports, run_session
from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.service.warm import AccountRun, plan, warm
from klaviyo_analytics.tools import CATALOG, get_tool, run_tool
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.product.conftest import TODAY, sandbox_service

REPO = Path(__file__).resolve().parents[2]
# Windows shrunk 500x on both sides: the ~24 paced report calls of a full warm take about half a second.
WARM_SCALE = 0.002
DAILY = 225


def warm_sandbox(today: date = TODAY) -> Sandbox:
    return Sandbox(SandboxConfig(seed=11, time_scale=WARM_SCALE, clock=pinned_on(today)))


def process(sandbox: Sandbox, directory: Path, **env: str) -> KlaviyoService:
    """A service as a new process would build it: its own client and memo, the data directory's SQLite store."""
    return sandbox_service(sandbox, directory, KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE=str(WARM_SCALE), **env)


def report_calls(sandbox: Sandbox) -> Counter[str]:
    return Counter(e["path"] for e in sandbox.log() if e["path"].endswith("-reports") and e["status"] == 200)


def ask(service: KlaviyoService, tool: str, **arguments: Any) -> dict[str, Any]:
    return run_tool(get_tool(tool), service, {"account": "acme", **arguments}, CallContext(Deadline(30)))


def test_after_warm_the_session_costs_no_report_call(tmp_path: Path) -> None:
    sandbox = warm_sandbox()
    (run,) = warm(process(sandbox, tmp_path), ["acme"], CATALOG)
    warmed = report_calls(sandbox)
    assert run.complete and run.report_calls == sum(warmed.values()) > 0
    assert run.warmed + run.cached == len(plan(CATALOG))
    # One values report per window answers performance, one entity and the comparison: compare's two
    # windows for each of the four common timeframes, per entity; one series per window.
    assert warmed["/api/campaign-values-reports"] == warmed["/api/flow-values-reports"] == 8
    assert sandbox.state()["rate_limited"] == 0

    person = process(sandbox, tmp_path)  # a server started later, on the same data directory
    assert needed_reports(QUESTIONS, person.today())  # cold, the session needs report calls
    records = run_session(person, 0.0)
    assert [r["code"] for r in records if not r["ok"]] == []
    assert report_calls(sandbox) == warmed, "a question of the session spent a report call after warm"


def test_warm_stops_at_its_share_and_leaves_the_reserve(tmp_path: Path) -> None:
    sandbox = warm_sandbox()
    people = process(sandbox, tmp_path)
    ask(people, "klaviyo_compare_periods", entity="campaign", timeframe="last_30_days")  # people spent 2 today
    assert report_calls(sandbox)["/api/campaign-values-reports"] == 2

    share = 0.02  # floor(0.02 x 225) = 4 calls a day per report, counting everyone's
    (run,) = warm(process(sandbox, tmp_path), ["acme"], CATALOG, share=share)
    assert run.warm_may_use == 4 and run.kept_for_people == DAILY - 4
    assert (
        run.stopped is not None
        and "query_campaign_values" in run.stopped
        and "KLAVIYO_MCP_WARM_BUDGET_SHARE" in run.stopped
    )
    assert {item["kind"] for item in run.skipped} == {"budget"} and not run.complete
    spent = report_calls(sandbox)
    assert spent["/api/campaign-values-reports"] == 4  # 2 of people's, 2 of warm's: never past the share
    assert max(spent.values()) <= 4 and run.report_calls == sum(spent.values()) - 2
    assert min(run.remaining_today.values()) >= run.kept_for_people

    # The reserve is people's: outside warm the same account still gets report calls.
    ask(people, "klaviyo_get_campaign_performance", timeframe="last_90_days")
    assert report_calls(sandbox)["/api/campaign-values-reports"] == 5

    # With its share already used, warm spends nothing and says so at once.
    (again,) = warm(process(sandbox, tmp_path), ["acme"], CATALOG, share=share)
    assert again.report_calls == 0 and again.stopped and again.warmed == 0
    assert report_calls(sandbox)["/api/campaign-values-reports"] == 5


def timeframes(sandbox: Sandbox, path: str) -> set[tuple[str, str]]:
    """The (start day, end day exclusive) of every window the sandbox answered on ``path``."""
    found = set()
    for entry in sandbox.log():
        if entry["path"] == path and entry["status"] == 200:
            window = entry["body"]["data"]["attributes"]["timeframe"]
            found.add((window["start"][:10], window["end"][:10]))
    return found


@pytest.mark.parametrize(
    ("today", "windows"),
    [
        # A month's last day: the last 30 days are 1–30 December, month to date the whole of December.
        (date(2026, 12, 31), {"last_30_days": ("2026-12-01", "2026-12-31"), "last_7_days": ("2026-12-24", "2026-12-31"),
                              "last_month": ("2026-11-01", "2026-12-01"), "this_month": ("2026-12-01", "2027-01-01")}),
        # A month's first day (and a year's): last month is all of December, month to date is today alone.
        (date(2027, 1, 1), {"last_30_days": ("2026-12-02", "2027-01-01"), "last_7_days": ("2026-12-25", "2027-01-01"),
                            "last_month": ("2026-12-01", "2027-01-01"), "this_month": ("2027-01-01", "2027-01-02")}),
    ],
)  # fmt: skip
def test_warm_reads_the_windows_from_the_pinned_clock(
    tmp_path: Path, today: date, windows: dict[str, tuple[str, str]]
) -> None:
    sandbox = warm_sandbox(today)
    catalog = [get_tool("klaviyo_get_campaign_performance")]
    (run,) = warm(process(sandbox, tmp_path), ["acme"], catalog)
    assert run.complete and run.report_calls == 4
    assert timeframes(sandbox, "/api/campaign-values-reports") == set(windows.values())

    person = process(sandbox, tmp_path)
    for timeframe, (start, _) in windows.items():
        period = ask(person, "klaviyo_get_campaign_performance", timeframe=timeframe)["metadata"]["period"]
        assert period["start_date"] == start
    assert sum(report_calls(sandbox).values()) == 4, "a warmed window was fetched again"


def test_the_plan_puts_the_most_asked_window_first_and_the_open_month_last() -> None:
    requests = plan(CATALOG)
    assert requests[0].arguments.get("timeframe") == "last_30_days"
    assert requests[-1].arguments.get("timeframe") == "this_month"
    tools = {r.tool for r in requests}
    assert {tool for _, tool, _ in QUESTIONS} <= tools  # every tool of the session is warmable
    assert "klaviyo_get_weekly_digest" in tools


def test_an_open_window_is_not_warmed_when_it_would_not_be_cached(tmp_path: Path) -> None:
    sandbox = warm_sandbox()
    service = process(sandbox, tmp_path, KLAVIYO_MCP_CACHE_TTL_OPEN_SECONDS="0")
    (run,) = warm(service, ["acme"], [get_tool("klaviyo_get_campaign_performance")])
    assert [item["kind"] for item in run.skipped] == ["not_cached"] and run.complete
    assert "KLAVIYO_MCP_CACHE_TTL_OPEN_SECONDS" in run.skipped[0]["reason"]
    assert ("2026-12-01", "2026-12-08") not in timeframes(sandbox, "/api/campaign-values-reports")
    assert isinstance(run, AccountRun) and run.report_calls == 3


@pytest.mark.slow
def test_the_session_benchmark_after_the_warm_command_spends_no_report_call() -> None:
    """``bench/session.py --warm``: the command in its own process, then the session in another."""
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "session.py"), "--time-scale", str(WARM_SCALE), "--warm"],
        capture_output=True, text=True, timeout=120, check=True, cwd=REPO,
    )  # fmt: skip
    served = int(out.stdout.split("(its own process, the same store): ")[1].split(" ")[0])
    assert served >= int(out.stdout.split("endpoint, window pairs): ")[1].split(".")[0]) > 0
    row = next(line for line in out.stdout.splitlines() if line.startswith("| after warm"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1:4] == ["10/10", "0", "0"], row  # answered, failed, report calls

"""`make demo`: the product's main job, end to end, with no Klaviyo account and no network.

Starts the Klaviyo sandbox on a free loopback port, starts ``server.py`` as a real MCP stdio
subprocess pointed at it (a demo accounts.toml and environment in a temporary directory), and
plays a scripted session through the MCP client, printing a readable transcript. When the
action tools exist it also proposes a VIP list, three demo profiles and a campaign draft,
approves the proposal through the CLI as a person would, executes it and prints the trace; then a
welcome-series draft flow for that list, whose structure is read back against the proposal.
Exits 0 and leaves nothing running.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.shared.dispatcher import ProgressFnT

from klaviyo_analytics.clock import clock_for
from klaviyo_analytics.service.money import format_money
from klaviyo_sandbox import Sandbox, SandboxConfig, accounts_toml, serve

REPO = Path(__file__).resolve().parent
# Klaviyo's rate-limit windows, shrunk 50x in both the sandbox and the product's pacer, so
# the demo shows real pacing without real waiting.
TIME_SCALE = 0.02
# The demo's today, for the sandbox and the server alike (KLAVIYO_MCP_TODAY): the same transcript every day.
DEMO_TODAY = "2026-12-07"
WIDTH = 100


def heading(text: str) -> None:
    # Bold only on a terminal: piped into a file or a CI log, escape codes are noise.
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    print(f"\n{bold}== {text} {plain}" + "=" * max(0, WIDTH - len(text) - 4))


def table(rows: list[list[Any]], header: list[str]) -> None:
    cells = [header, *[[("" if c is None else str(c)) for c in row] for row in rows]]
    widths = [min(40, max(len(r[i]) for r in cells)) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  " + "  ".join(c[:40].ljust(w) for c, w in zip(row, widths, strict=False)))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def money(value: float | None, currency: str | None) -> str:
    """In the answer's own currency (``metadata.currency``): £ for the GBP account, never a guessed $."""
    return "-" if value is None else format_money(value, currency, whole=True)


def show_campaigns(data: dict[str, Any]) -> None:
    rows = [
        [
            c["campaign_name"],
            c["send_channel"],
            int(c["sent"]),
            pct(c["open_rate"]),
            pct(c["click_rate"]),
            money(c["conversion_value"], data.get("_currency")),
        ]
        for c in data["campaigns"][:6]
    ]
    table(rows, ["campaign", "channel", "sent", "open", "click", "revenue"])
    print(f"  … {data['campaign_count']} campaigns in the window")


def show_flows_perf(data: dict[str, Any]) -> None:
    rows = [
        [
            f["flow_name"],
            int(f["sent"]),
            pct(f["open_rate"]),
            pct(f["conversion_rate"]),
            money(f["conversion_value"], data.get("_currency")),
        ]
        for f in data["flows"][:6]
    ]
    table(rows, ["flow", "sent", "open", "conv", "revenue"])


def show_structure(data: dict[str, Any]) -> None:
    print(f"  {data['flow_name']} ({data['status']}, trigger: {data['trigger_type']}), {data['action_count']} steps")
    for step in data["steps"]:
        detail = step["message_name"] or "" if step["message_id"] else ""
        if step["subject"]:
            detail += f" — subject: {step['subject']}"
        print(f"    {step['action_type']:<18} {detail}")


def show_series(data: dict[str, Any]) -> None:
    dates = data["date_times"]
    totals = [0.0] * len(dates)
    key = "recipients"
    for row in data["series"]:
        for i, v in enumerate(row["statistics"].get(key, [])):
            totals[i] += v or 0
    for d, v in list(zip(dates, totals, strict=False))[-6:]:
        print(f"  {d[:10]}  {key:>10}: {int(v):>8,}  " + "▇" * int(40 * v / max(max(totals), 1)))
    print(f"  … {len(dates)} {data['interval']} buckets, {len(data['series'])} series")


def show_compare(data: dict[str, Any]) -> None:
    now, before, deltas = data["current_totals"], data["prior_totals"], data["deltas"]
    print(
        f"  {data['current_period']['start_date']}..{data['current_period']['end_date']} vs "
        f"{data['prior_period']['start_date']}..{data['prior_period']['end_date']}"
    )
    rows = [
        [m, now[m], before[m], pct(deltas[m]["pct_change"])]
        for m in ("sent", "opens", "conversions", "conversion_value")
    ]
    table(rows, ["metric", "current", "prior", "change"])


def show_lists(data: dict[str, Any]) -> None:
    rows = [[x["name"], x["opt_in_process"], x["profile_count"]] for x in data["lists"][:6]]
    table(rows, ["list", "opt-in", "profiles"])
    print(
        f"  {data['list_count']} lists, {data['total_profiles']:,} memberships; pending sizes: {len(data['pending'])}"
    )


def show_growth(data: dict[str, Any]) -> None:
    table(
        [[ch, g["subscribed"], g["unsubscribed"], g["net"]] for ch, g in data["growth"].items()],
        ["channel", "subscribed", "unsubscribed", "net"],
    )


def show_segments(data: dict[str, Any]) -> None:
    table(
        [[s["name"], s["profile_count"], s["is_active"]] for s in data["segments"][:6]],
        ["segment", "profiles", "active"],
    )


def show_metric(data: dict[str, Any]) -> None:
    for row in data["rows"][:1]:
        for d, c, v in zip(data["dates"], row["series"]["count"], row["series"].get("sum_value", []), strict=False):
            print(f"  week of {d[:10]}: {int(c):>6,} orders  {money(v, data.get('_currency'))}")


def show_split(data: dict[str, Any]) -> None:
    table(
        [[s["source"], money(s["revenue"], data.get("_currency")), pct(s["share"])] for s in data["sources"]],
        ["source", "revenue", "share"],
    )
    print(
        f"  email (flows + campaigns): {pct(data['email_share'])} of "
        f"{money(data['total_revenue'], data.get('_currency'))}"
    )


def show_anomalies(data: dict[str, Any]) -> None:
    period, prior = data["current_period"], data["prior_period"]
    print(f"  {period['start_date']}..{period['end_date']} vs {prior['start_date']}..{prior['end_date']}")
    for a in data["anomalies"][:4]:
        change = "" if a.get("pct_change") is None else f" ({a['pct_change']:+.0%})"
        name = (a.get("name") or a.get("id") or "")[:28]
        impact = money(a.get("impact"), data.get("_currency"))
        print(f"  {a['kind']:<16} {name:<28} {a['metric']}: {a['prior']} → {a['current']}{change}"
              f"  p={a.get('p_value')}  impact {impact}")  # fmt: skip
    print(f"  ({data.get('suppressed', 0)} smaller or not significant changes left out)")


def show_portfolio(data: dict[str, Any]) -> None:
    rows = []
    for a in data["accounts"]:
        mover = a.get("top_mover") or {}
        health = a.get("worst_health") or {}
        rows.append([a["account"], money(a.get("revenue"), a.get("currency")), pct(a.get("email_share")),
                     f"{mover.get('name', '-')} {mover.get('kind', '')}".strip(),
                     f"{health.get('rate', '-')}: {health.get('band', '-')}"])  # fmt: skip
    table(rows, ["account", "revenue", "email", "top mover", "worst health band"])
    for total in data.get("totals", []):
        print(f"  total in {total['currency']}: {money(total['revenue'], total['currency'])} "
              f"({', '.join(total['accounts'])})")  # fmt: skip


SCRIPT: list[tuple[str, str, dict[str, Any], Callable[[dict[str, Any]], None] | None]] = [
    (
        "Which accounts can I use?",
        "klaviyo_list_accounts",
        {},
        lambda d: table([[a["name"], a["label"]] for a in d["accounts"]], ["account", "label"]),
    ),
    (
        "Which campaigns made the most revenue in the last 30 days?",
        "klaviyo_get_campaign_performance",
        {"account": "acme", "timeframe": "last_30_days"},
        show_campaigns,
    ),
    (
        "What campaigns do we have?",
        "klaviyo_get_campaigns",
        {"account": "acme"},
        lambda d: print(
            f"  {d['campaign_count']} campaigns; latest: " + ", ".join(c["name"] for c in d["campaigns"][:3])
        ),
    ),
    (
        "Which flows are live?",
        "klaviyo_get_flows",
        {"account": "acme", "status": "live"},
        lambda d: print("  " + ", ".join(f["name"] for f in d["flows"])),
    ),
    (
        "Which flows made the most revenue last month?",
        "klaviyo_get_flow_performance",
        {"account": "acme", "timeframe": "last_month", "rollup": True},
        show_flows_perf,
    ),
    ("What does the welcome flow look like?", "klaviyo_get_flow_structure", {"account": "acme"}, show_structure),
    (
        "How did flows do week by week over 90 days?",
        "klaviyo_get_performance_over_time",
        {"account": "acme", "entity": "flow", "timeframe": "last_90_days", "interval": "weekly"},
        show_series,
    ),
    (
        "And campaigns, week by week?",
        "klaviyo_get_performance_over_time",
        {"account": "acme", "entity": "campaign", "timeframe": "last_90_days", "interval": "weekly"},
        show_series,
    ),
    (
        "Compare the last 30 days of campaigns with the 30 days before",
        "klaviyo_compare_periods",
        {"account": "acme", "entity": "campaign", "timeframe": "last_30_days"},
        show_compare,
    ),
    ("How healthy are my lists?", "klaviyo_get_list_health", {"account": "acme"}, show_lists),
    (
        "How are my lists growing?",
        "klaviyo_get_list_growth",
        {"account": "acme", "timeframe": "last_30_days"},
        show_growth,
    ),
    ("Which segments do I have?", "klaviyo_get_segments", {"account": "acme"}, show_segments),
    (
        "Orders per week over the last 30 days?",
        "klaviyo_query_metric_aggregates",
        {
            "account": "acme",
            "metric": "Placed Order",
            "timeframe": "last_30_days",
            "interval": "weekly",
            "measurements": ["count", "sum_value"],
        },
        show_metric,
    ),
    (
        "And the other account?",
        "klaviyo_get_campaign_performance",
        {"account": "globex", "timeframe": "last_30_days"},
        show_campaigns,
    ),
    (
        "How did revenue split between flows and campaigns last month?",
        "klaviyo_get_revenue_split",
        {"account": "acme", "timeframe": "last_month"},
        show_split,
    ),
    ("Anything unusual this week?", "klaviyo_find_anomalies", {"account": "acme"}, show_anomalies),
    ("Which of my clients dropped?", "klaviyo_get_portfolio", {}, show_portfolio),
]


def progress_counter() -> tuple[list[float], ProgressFnT]:
    """A progress callback that records what it is told, to show the notifications arrive."""
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    return seen, on_progress


def write_demo_config(sandbox: Sandbox, base_url: str, directory: Path) -> dict[str, str]:
    (directory / "accounts.toml").write_text(accounts_toml(sandbox.accounts))
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(directory),
        "XDG_CONFIG_HOME": str(directory / "config"),
        "XDG_DATA_HOME": str(directory / "data"),
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(directory / "accounts.toml"),
        "KLAVIYO_BASE_URL": base_url,
        "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": str(TIME_SCALE),
        "KLAVIYO_MCP_TODAY": DEMO_TODAY,
        "KLAVIYO_MCP_LEDGER_PATH": str(directory / "ledger.sqlite3"),
        "KLAVIYO_MCP_LOG_LEVEL": "WARNING",
        **{a.key_env: a.api_key for a in sandbox.accounts},
    }


async def session(env: dict[str, str], sandbox: Sandbox) -> int:
    params = StdioServerParameters(command=sys.executable, args=[str(REPO / "server.py")], env=env, cwd=env["HOME"])
    failures = 0
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        size = len(
            json.dumps(
                [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools], separators=(",", ":")
            )
        )
        heading(f"tools/list: {len(tools)} tools, {size / 1024:.1f} KB")
        print("  " + ", ".join(t.name for t in tools))
        names = {t.name for t in tools}
        first_flow: str | None = None
        for question, tool, arguments, show in SCRIPT:
            if tool not in names:
                continue
            if tool == "klaviyo_get_flow_structure":
                if first_flow is None:
                    continue
                arguments = {**arguments, "flow_id": first_flow}
            heading(question)
            print(f"  → {tool} {json.dumps(arguments)}")
            started, calls_before = time.perf_counter(), len(sandbox.log())
            progress, on_progress = progress_counter()
            result = await client.call_tool(tool, arguments, progress_callback=on_progress)
            elapsed = (time.perf_counter() - started) * 1000
            upstream = len(sandbox.log()) - calls_before
            if result.is_error:
                failures += 1
                print(f"  ERROR {result.content[0].text}")  # type: ignore[union-attr]
                continue
            payload = result.structured_content or {}
            if tool == "klaviyo_get_flows" and payload["data"]["flows"]:
                first_flow = payload["data"]["flows"][0]["flow_id"]
            if show:  # the answer's currency (metadata) rides along for the money columns
                show({**payload["data"], "_currency": payload["metadata"].get("currency")})
            for warning in payload.get("warnings", [])[:2]:
                print(f"  ! {warning}")
            print(f"  ({elapsed:.0f} ms, {upstream} Klaviyo calls, {len(progress)} progress notifications)")
        if "klaviyo_propose_campaign_draft" in names:
            failures += await actions_story(client, env, sandbox)
    return failures


def approve_as_a_person(action_id: str, env: dict[str, str], reason: str) -> None:
    """What a person does outside the chat: the approval CLI, in its own process, on a terminal
    (here a pseudo-terminal), typing back the code it shows."""
    from tests.terminal import run_on_tty, shown_code

    command = [sys.executable, "-m", "klaviyo_analytics", "actions", "approve", action_id,
               "--as", "demo-person", "--reason", reason]  # fmt: skip
    print(f"  $ python -m klaviyo_analytics actions approve {action_id} --as demo-person --reason {reason!r}")
    code, text = run_on_tty(command, {**env, "PYTHONPATH": str(REPO)}, shown_code)
    for line in text.strip().splitlines()[:4]:
        print(f"    {line.rstrip()}")
    if code != 0:
        raise RuntimeError(f"approval failed: {text.strip()}")


async def propose_approve_execute(
    client: Client, env: dict[str, str], tool: str, arguments: dict[str, Any], reason: str
) -> dict[str, Any]:
    print(f"  → {tool} {json.dumps(arguments)}")
    proposed = await client.call_tool(tool, arguments)
    if proposed.is_error:
        raise RuntimeError(proposed.content[0].text)  # type: ignore[union-attr]
    view = (proposed.structured_content or {})["data"]
    print(f"  proposal {view['action_id']} ({view['status']}): {view['summary']}")
    for step in view["plan"]:
        print(f"    plan: {step['method']:<5} {step['path']:<45} {step.get('note', '')}")
    early = await client.call_tool("klaviyo_execute_action", {"action_id": view["action_id"]})
    error = (early.structured_content or {}).get("error", {})
    print(f"  → klaviyo_execute_action before approval: {error.get('code')} — a person must approve first")
    approve_as_a_person(view["action_id"], env, reason)
    executed = await client.call_tool("klaviyo_execute_action", {"action_id": view["action_id"]})
    if executed.is_error:
        raise RuntimeError(executed.content[0].text)  # type: ignore[union-attr]
    result: dict[str, Any] = (executed.structured_content or {})["data"]
    print(f"  → klaviyo_execute_action: {result['status']}")
    for call in result["trace"]:
        print(f"    trace: {call['call']:<52} {call['status']}  {call['ms']:>6.1f} ms  ({call['step']})")
    again = await client.call_tool("klaviyo_execute_action", {"action_id": view["action_id"]})
    code = (again.structured_content or {}).get("error", {}).get("code", "ok")
    print(f"  → klaviyo_execute_action again: {code} — it runs exactly once")
    return result


async def actions_story(client: Client, env: dict[str, str], sandbox: Sandbox) -> int:
    heading("Build a VIP list with 3 demo profiles and draft a campaign for it")
    seeded = await propose_approve_execute(
        client, env, "klaviyo_propose_seed_demo_profiles",
        {"account": "acme", "count": 3, "new_list_name": "VIP (demo)"}, "demo VIP list looks right",
    )  # fmt: skip
    list_id = seeded["created"]["create_list"]["id"]
    print(f"  created list {list_id} and profiles "
          + ", ".join(v["id"] for k, v in seeded["created"].items() if k.startswith("import_profile")))  # fmt: skip
    heading("Draft an email campaign for the new list")
    drafted = await propose_approve_execute(
        client, env, "klaviyo_propose_campaign_draft",
        {"account": "acme", "name": "VIP Early Access", "audience_id": list_id, "subject": "VIP Early Access: 20% off",
         "preview_text": "Just for you, 48 hours early",
         "template_html": "<html><body><h1>VIP Early Access</h1><p>20% off, just for you.</p></body></html>"},
        "subject and audience approved",
    )  # fmt: skip
    print(f"  created: {json.dumps(drafted['created'])}")
    check = await client.call_tool("klaviyo_get_campaigns", {"account": "acme", "name_contains": "VIP Early"})
    for campaign in ((check.structured_content or {}).get("data") or {}).get("campaigns", []):
        print(
            f"  klaviyo_get_campaigns: {campaign['name']!r} is {campaign['status']}, audience {campaign['audiences']}"
        )
    if await welcome_series(client, env, list_id):
        return 1
    created = sandbox.state()["accounts"]["acme"]
    counts = {kind: len(created[kind]) for kind in ("lists", "profiles", "campaigns", "templates", "flows")}
    print(f"  the sandbox now holds {counts} (assigning a template stores Klaviyo's own copy of it)")
    expected = counts["lists"] == 1 and counts["profiles"] == 3 and counts["campaigns"] == 1 and counts["flows"] == 1
    if not expected or sandbox.state()["send_job_attempts"]:
        print("  UNEXPECTED sandbox state")
        return 1
    return 0


async def welcome_series(client: Client, env: dict[str, str], list_id: str) -> int:
    """A welcome series for the new VIP list: the structure Klaviyo holds must be the promised outline."""
    heading("Build a welcome series for the VIP list (a draft flow)")
    done = await propose_approve_execute(
        client, env, "klaviyo_propose_flow",
        {"account": "acme", "recipe": "welcome_series", "trigger_id": list_id, "name": "VIP Welcome (demo)"},
        "welcome series outline approved",
    )  # fmt: skip
    flow_id = done["created"]["create_flow"]["id"]
    read = await client.call_tool("klaviyo_get_flow_structure", {"account": "acme", "flow_id": flow_id})
    structure = (read.structured_content or {})["data"]
    show_structure(structure)
    definition = done["plan"][-1]["body"]["data"]["attributes"]["definition"]
    promised = [(a["type"], (a["data"].get("message") or {}).get("subject_line")) for a in definition["actions"]]
    got = [(s["action_type"], s["subject"]) for s in structure["steps"]]
    if got != promised or structure["status"] != "draft":
        print(f"  UNEXPECTED flow structure: {got} (promised {promised}), status {structure['status']}")
        return 1
    print(f"  klaviyo_get_flow_structure: the outline the proposal promised, status {structure['status']}")
    return 0


def main() -> int:
    started = time.perf_counter()
    sandbox = Sandbox(SandboxConfig(seed=7, time_scale=TIME_SCALE, clock=clock_for(DEMO_TODAY)))
    with tempfile.TemporaryDirectory(prefix="klaviyo-mcp-demo-") as tmp, serve(sandbox) as base_url:
        env = write_demo_config(sandbox, base_url, Path(tmp))
        heading(f"Klaviyo sandbox on {base_url}; MCP server: {sys.executable} server.py (stdio)")
        failures = anyio.run(session, env, sandbox)
        state = sandbox.state()
        heading("Done")
        print(
            f"  {len(sandbox.log())} Klaviyo calls served, {state.get('rate_limited', 0)} of them 429s; "
            f"send-job attempts: {len(state.get('send_job_attempts', []))}; {time.perf_counter() - started:.1f} s"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

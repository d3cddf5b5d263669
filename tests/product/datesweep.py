"""The calendar-sensitive checks of the date sweep, for one pinned instant (shared by the fixed sweep
in ``make test`` and the hypothesis sweep in ``make fuzz``).

The sandbox and the product share one clock pinned at the instant; every expectation is computed
here, independently of klaviyo_analytics.rules.timeframes, from the account's own calendar.
"""

from __future__ import annotations

import calendar
import itertools
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from klaviyo_analytics.clock import Clock, ShiftedClock
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.product.conftest import sandbox_service

SCALE = "0.0001"  # rate windows of both sides shrunk 10,000x: pacing stays real and costs nothing
ZONES = {"acme": "America/New_York", "globex": "Europe/London"}
# The seeded trouble (klaviyo_sandbox/events.py): a flow that stopped 10 days before today
# and one whose last week fell to 40%.
STOPPED, DROPPED = "Browse Abandonment", "Abandoned Cart Reminder"


@dataclass
class World:
    instant: datetime
    sandbox: Sandbox
    service: KlaviyoService

    def ask(self, name: str, **arguments: Any) -> dict[str, Any]:
        return run_tool(get_tool(name), self.service, arguments, CallContext(Deadline(120)))

    def local_today(self, account: str) -> date:
        return self.service.now().astimezone(ZoneInfo(ZONES[account])).date()


def world_at(instant: datetime, directory: Path | None = None) -> World:
    return world_on(ShiftedClock(instant), directory)


def world_on(clock: Clock, directory: Path | None = None) -> World:
    """The sandbox and the product on ``clock`` (the machine's, under libfaketime)."""
    instant = clock.now()
    sandbox = Sandbox(SandboxConfig(seed=11, time_scale=float(SCALE), clock=clock))
    where = directory or Path(tempfile.mkdtemp(prefix="datesweep-"))
    service = sandbox_service(
        sandbox, where, KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE=SCALE, KLAVIYO_MCP_TOOL_DEADLINE_SECONDS="120"
    )
    return World(instant, sandbox, service)


def expected_preset(preset: str, today: date) -> tuple[date, date]:
    yesterday = today - timedelta(days=1)
    first = today.replace(day=1)
    spans = {
        "today": (today, today),
        "yesterday": (yesterday, yesterday),
        "this_month": (first, today),
        "last_month": ((first - timedelta(days=1)).replace(day=1), first - timedelta(days=1)),
        "year_to_date": (date(today.year, 1, 1), today),
    }
    if preset in spans:
        return spans[preset]
    days = int(preset.split("_")[1])
    return yesterday - timedelta(days=days - 1), yesterday


def period_of(answer: dict[str, Any]) -> tuple[date, date]:
    period = answer["metadata"]["period"]
    return date.fromisoformat(period["start_date"]), date.fromisoformat(period["end_date"])


def check_presets(world: World) -> None:
    presets = ("today", "yesterday", "last_7_days", "last_30_days", "this_month", "last_month", "year_to_date")
    for account in ZONES:
        today = world.local_today(account)
        for preset in presets:
            answer = world.ask("klaviyo_query_metric_aggregates", account=account, metric="Placed Order",
                               measurements=["count"], interval="daily", timeframe=preset)  # fmt: skip
            start, end = period_of(answer)
            assert (start, end) == expected_preset(preset, today), (account, preset, today)
            data = answer["data"]
            # One daily bucket per day of the window, labelled in the account's own zone.
            days = [date.fromisoformat(label[:10]) for label in data["dates"]]
            assert days == [start + timedelta(days=i) for i in range((end - start).days + 1)], (account, preset)
            offsets = {datetime.fromisoformat(label).utcoffset() for label in data["dates"]}
            assert offsets <= {
                ZoneInfo(ZONES[account]).utcoffset(datetime.combine(d, datetime.min.time())) for d in days
            }
            row = data["rows"][0] if data["rows"] else {"totals": {"count": 0.0}, "series": {"count": []}}
            assert sum(row["series"]["count"]) == row["totals"]["count"]
            closed = preset not in ("today", "this_month", "year_to_date")
            assert not closed or end < today, (account, preset)  # a finished preset never reaches today


def check_comparisons(world: World) -> None:
    for account in ZONES:
        for preset, rule in (
            ("last_7_days", "previous_equal_window"),
            ("last_month", "previous_calendar_month"),
            ("yesterday", "previous_equal_window"),
            ("this_month", "previous_month_same_days"),
        ):
            data = world.ask("klaviyo_compare_periods", account=account, entity="flow", timeframe=preset)["data"]
            cur = [date.fromisoformat(data["current_period"][k]) for k in ("start_date", "end_date")]
            pri = [date.fromisoformat(data["prior_period"][k]) for k in ("start_date", "end_date")]
            assert data["comparison"] == rule
            if rule == "previous_month_same_days":
                assert pri[0] == (cur[0] - timedelta(days=1)).replace(day=1) and pri[1] < cur[0]
                last = calendar.monthrange(pri[0].year, pri[0].month)[1]
                assert (pri[1] - pri[0]).days == min((cur[1] - cur[0]).days, last - 1)
                continue
            # No gap, no overlap: the prior window ends the day before the current one starts.
            assert pri[1] + timedelta(days=1) == cur[0], (account, preset, pri, cur)
            if rule == "previous_equal_window":
                assert pri[1] - pri[0] == cur[1] - cur[0]
            else:
                assert pri[0].day == 1 and cur[0].day == 1


def check_buckets(world: World) -> None:
    for account in ZONES:
        for interval, preset in (("weekly", "last_30_days"), ("monthly", "last_90_days")):
            answer = world.ask("klaviyo_get_performance_over_time", account=account, entity="flow",
                               interval=interval, timeframe=preset)  # fmt: skip
            start, end = period_of(answer)
            buckets = answer["data"]["buckets"]
            # The buckets tile the window exactly: contiguous, first at its start, last at its end.
            assert date.fromisoformat(buckets[0]["start_date"]) == start
            assert date.fromisoformat(buckets[-1]["end_date"]) == end
            for before, after in itertools.pairwise(buckets):
                assert date.fromisoformat(before["end_date"]) + timedelta(days=1) == date.fromisoformat(
                    after["start_date"]
                )
            assert sum(b["days"] for b in buckets) == (end - start).days + 1
            for b in buckets:
                first, last = date.fromisoformat(b["start_date"]), date.fromisoformat(b["end_date"])
                if interval == "weekly":
                    whole = first.weekday() == 0 and b["days"] == 7
                else:
                    whole = first.day == 1 and last.day == calendar.monthrange(last.year, last.month)[1]
                assert b["partial"] is (not whole), (account, interval, b)
            # The series' sends add up to the values report over the same window.
            series = sum(sum(s["statistics"]["recipients"]) for s in answer["data"]["series"])
            flows = world.ask("klaviyo_get_flow_performance", account=account, timeframe=preset)["data"]["flows"]
            assert series == sum(f["sent"] for f in flows), (account, interval)


def check_chunking(world: World) -> None:
    """A window over a year is read in chunks; its total is the sum of its two halves read alone."""
    for account in ZONES:
        end = world.local_today(account) - timedelta(days=1)
        start, middle = end - timedelta(days=420), end - timedelta(days=200)

        def total(a: date, b: date, account: str = account) -> float:
            answer = world.ask("klaviyo_query_metric_aggregates", account=account, metric="Placed Order",
                               measurements=["count"], interval="monthly",
                               start_date=a.isoformat(), end_date=b.isoformat())  # fmt: skip
            rows = answer["data"]["rows"]
            return float(rows[0]["totals"]["count"]) if rows else 0.0

        whole = total(start, end)
        assert whole == total(start, middle) + total(middle + timedelta(days=1), end) > 0, account


def check_anomalies(world: World) -> None:
    """Exactly the seeded trouble, on every date: the stopped flow, the bad week, nothing healthy."""
    for account in ZONES:
        answer = world.ask("klaviyo_find_anomalies", account=account)["data"]
        found = {(a["kind"], a["name"], a["metric"]) for a in answer["anomalies"] if a["name"] is not None}
        assert ("stopped_sending", STOPPED, "delivered") in found, (account, answer["anomalies"])
        assert ("change", DROPPED, "sent") in found, (account, answer["anomalies"])
        assert {name for _, name, _ in found} <= {STOPPED, DROPPED}, (account, answer["anomalies"])
        drop = next(
            a for a in answer["anomalies"] if (a["kind"], a["name"], a["metric"]) == ("change", DROPPED, "sent")
        )
        assert drop["pct_change"] <= -0.3 and drop["p_value"] < 0.01


def check_digest_and_portfolio(world: World) -> None:
    for account in ZONES:
        today = world.local_today(account)
        digest = world.ask("klaviyo_get_weekly_digest", account=account)
        start, end = period_of(digest)
        assert (start, end) == expected_preset("last_7_days", today)
        assert f"{start} to {end}" in "\n".join(digest["data"]["lines"])
    portfolio = world.ask("klaviyo_get_portfolio", timeframe="last_7_days")
    start, end = period_of(portfolio)
    assert end < min(world.local_today(a) for a in ZONES)  # the week is over in every account
    assert (end - start).days == 6 and not portfolio["data"]["pending"]
    assert {row["account"] for row in portfolio["data"]["accounts"]} == set(ZONES)


def check_engagement(world: World) -> None:
    """The seeded A/B tests move with the clock and are read the same on every date; fatigue's weeks are
    the whole weeks before the account's current one."""
    from klaviyo_sandbox.message_dims import ab_tests

    for account in ZONES:
        seeded = world.sandbox.store.accounts[account]
        for mid, test in ab_tests(seeded).items():
            if mid in seeded.messages:
                campaign = seeded.messages[mid].campaign_id
                data = world.ask("klaviyo_get_ab_results", account=account, campaign=campaign)["data"]
                assert data["has_ab_test"] and (data["winner"] is not None) is test.winner, (account, data["verdict"])
        weeks = world.ask("klaviyo_get_send_fatigue", account=account, weeks=4)["data"]["weeks"]
        today = world.local_today(account)
        assert date.fromisoformat(weeks[-1]["week_start"]) == today - timedelta(days=today.weekday() + 7), account


def check_audit_and_deliverability(world: World) -> None:
    """The seeded gaps on every date: no sunset flow, the stopped flow, the Gmail spam spike of the last
    30 days; the decay window is the six whole months before the account's month."""
    for account in ZONES:
        today = world.local_today(account)
        audit = world.ask("klaviyo_audit_flows", account=account)["data"]
        found = {(f["kind"], f["stage"], f["flow_name"]) for f in audit["findings"]}
        assert ("missing_stage", "sunset", None) in found, (account, found)
        assert ("stopped_sending", "browse_abandonment", STOPPED) in found, (account, found)
        decay = audit["windows"]["decay"]
        first = date.fromisoformat(decay["start_date"])
        assert date.fromisoformat(decay["end_date"]) == today.replace(day=1) - timedelta(days=1)
        assert first.day == 1 and (today.year - first.year) * 12 + today.month - first.month == 6
        worst = world.ask("klaviyo_get_deliverability", account=account)["data"]["worst"]
        spam = next(w for w in worst if w["rate"] == "spam_complaint_rate")
        assert spam["inbox_provider"] == "Gmail" and spam["band"] == "needs_attention", (account, spam)


CHECKS = (
    check_presets, check_comparisons, check_buckets, check_chunking, check_anomalies, check_digest_and_portfolio,
    check_engagement, check_audit_and_deliverability,
)  # fmt: skip


def as_utc(text: str) -> datetime:
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)

"""Answers before anyone asks: fill the shared cache with the common questions of every account.

Each warmable tool's catalog entry lists the arguments to ask it with (``warm=``,
:mod:`klaviyo_analytics.tools.warmable`); warming runs every one of them through ``run_tool``, the
path a person's question takes, so the reports it fetches land under the exact cache keys that
question looks up, and one report answers every question it covers (a campaign-values report of a
window serves performance, one campaign, rankings and the comparison that needs it). Requests go
in priority order (the last 30 days first, the open month last).

Spending: inside :func:`~klaviyo_analytics.quota.reserve.spending_at_most` the pacer hands a report
slot only while the account's calls of the last day, everyone's, stay under
``KLAVIYO_MCP_WARM_BUDGET_SHARE`` of Klaviyo's daily limit; the rest is never touched. When the
share of any report runs out the account stops there, says so, and its remaining requests are
listed as skipped. Accounts are warmed side by side (each has its own Klaviyo limits); within one,
requests wait for Klaviyo's pacing (2 report calls a minute), so a run takes minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.klaviyo.client import CallRecord
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.endpoints import ENDPOINTS, REPORT
from klaviyo_analytics.quota.reserve import spending_at_most
from klaviyo_analytics.rules.timeframes import preset_period
from klaviyo_analytics.service.core import CallContext, KlaviyoService
from klaviyo_analytics.tools.spec import ToolSpec
from klaviyo_analytics.tools.warmable import rank

# The operations Klaviyo counts against a daily report budget.
REPORT_OPERATIONS = frozenset(e.operation_id for e in ENDPOINTS if e.read and e.limit.daily is not None)
# A command has no chat waiting on it: one request may wait out Klaviyo's report pacing.
REQUEST_DEADLINE_SECONDS = 600.0
# Accounts warmed at once (each waits on its own pacing, so threads mostly sleep).
MAX_PARALLEL_ACCOUNTS = 8
BUDGET = "the warm budget is used"


@dataclass(frozen=True)
class Request:
    tool: str
    arguments: Mapping[str, Any]

    @property
    def label(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in self.arguments.items())
        return f"{self.tool}({shown})"


@dataclass
class AccountRun:
    account: str
    report_calls: int = 0  # report requests Klaviyo answered for this run
    other_calls: int = 0  # every other Klaviyo request (names, list sizes)
    warmed: int = 0  # answers that needed at least one Klaviyo call (now cached)
    cached: int = 0  # answers the cache already held (no Klaviyo call at all)
    # {"request", "kind": budget | failed | not_cached, "reason"}
    skipped: list[dict[str, str]] = field(default_factory=list)
    stopped: str | None = None  # why the account stopped before the end of its plan
    daily_report_limit: int = REPORT.daily or 0
    warm_may_use: int = 0  # of each report's daily limit, counting everyone's calls of the day
    kept_for_people: int = 0
    remaining_today: dict[str, int] = field(default_factory=dict)  # per report operation, after the run

    @property
    def complete(self) -> bool:
        """Nothing stopped or failed (a request skipped because it could not be cached is a setting)."""
        return self.stopped is None and all(item["kind"] == "not_cached" for item in self.skipped)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        head = (
            f"{self.account}: {self.report_calls} report calls, {self.warmed} answers warmed, "
            f"{self.cached} already cached, {len(self.skipped)} skipped"
        )
        budget = (
            f"warming may use {self.warm_may_use} of each report's {self.daily_report_limit} daily calls, "
            f"{self.kept_for_people} kept for people's questions"
        )
        left = f"; fewest left today: {min(self.remaining_today.values())}" if self.remaining_today else ""
        tail = f"\n  STOPPED: {self.stopped}" if self.stopped else ""
        reasons = Counter(item["reason"] for item in self.skipped if item["kind"] != "budget")
        more = "".join(f"\n  skipped {n}: {reason}" for reason, n in reasons.items())
        return f"{head} ({budget}{left}){tail}{more}"


def plan(catalog: Sequence[ToolSpec]) -> list[Request]:
    """Every warm request of the catalog, most asked window first (stable within a window)."""
    requests = [Request(spec.name, dict(arguments)) for spec in catalog for arguments in spec.warm]
    return sorted(requests, key=lambda r: rank(r.arguments))


class _Calls:
    """Klaviyo requests answered, per account and kind, from the client's call records."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, bool]] = Counter()

    def __call__(self, record: CallRecord) -> None:
        if record.status is not None:
            with self._lock:
                self.counts[(record.account, record.operation in REPORT_OPERATIONS)] += 1

    def of(self, account: str) -> tuple[int, int]:
        with self._lock:
            return self.counts[(account, True)], self.counts[(account, False)]


def useless(svc: KlaviyoService, slug: str, request: Request) -> str | None:
    """Why a request would leave nothing in the cache, if it would (no call is spent on it then)."""
    timeframe = request.arguments.get("timeframe")
    if not isinstance(timeframe, str):
        return None
    today = svc.today(svc.account(slug))
    is_open = preset_period(timeframe, today).end >= today
    if is_open and svc.settings.cache_ttl_open_seconds <= 0:
        return "a window that includes today is not cached (KLAVIYO_MCP_CACHE_TTL_OPEN_SECONDS=0)"
    if not is_open and svc.settings.cache_ttl_closed_seconds <= 0:
        return "a closed window is not cached (KLAVIYO_MCP_CACHE_TTL_CLOSED_SECONDS=0)"
    return None


def warm_account(
    svc: KlaviyoService,
    slug: str,
    requests: Sequence[Request],
    calls: _Calls,
    *,
    share: float,
    deadline_seconds: float = REQUEST_DEADLINE_SECONDS,
) -> AccountRun:
    from klaviyo_analytics.tools import get_tool, run_tool  # the catalog imports the service layer

    run = AccountRun(slug)
    with spending_at_most(share) as budget:
        run.warm_may_use = budget.allowed(run.daily_report_limit)
        run.kept_for_people = run.daily_report_limit - run.warm_may_use
        for index, request in enumerate(requests):
            reason = useless(svc, slug, request)
            if reason is not None:
                run.skipped.append({"request": request.label, "kind": "not_cached", "reason": reason})
                continue
            before = sum(calls.of(slug))
            ctx = CallContext(Deadline(deadline_seconds), caller="cli")
            failure = None
            try:
                envelope = run_tool(get_tool(request.tool), svc, {**request.arguments, "account": slug}, ctx)
            except KlaviyoMCPError as exc:
                failure = f"{exc.code}: {exc.message}"
            else:
                if envelope["metadata"].get("fetched_at"):  # a stale copy answered: nothing new was cached
                    failure = "RATE_LIMITED: answered from a stale cached report"
                elif ctx.incomplete:
                    failure = f"partial: {', '.join(ctx.incomplete)}"
            if budget.exhausted:
                run.stopped = _stop_message(budget.exhausted, run)
                run.skipped += [{"request": r.label, "kind": "budget", "reason": BUDGET} for r in requests[index:]]
                break
            spent = sum(calls.of(slug)) - before
            if failure is not None:
                run.skipped.append({"request": request.label, "kind": "failed", "reason": failure})
            elif spent:
                run.warmed += 1
            else:
                run.cached += 1
    run.report_calls, run.other_calls = calls.of(slug)
    run.remaining_today = _remaining(svc, slug)
    return run


def _stop_message(exhausted: set[tuple[str, str]], run: AccountRun) -> str:
    buckets = ", ".join(sorted(bucket for _, bucket in exhausted))
    return (
        f"the warm budget of {buckets} is used ({run.warm_may_use} of {run.daily_report_limit} calls a day, "
        f"KLAVIYO_MCP_WARM_BUDGET_SHARE); the other {run.kept_for_people} are left for people's questions"
    )


def _remaining(svc: KlaviyoService, slug: str) -> dict[str, int]:
    left = {}
    for endpoint in ENDPOINTS:
        if endpoint.operation_id in REPORT_OPERATIONS:
            count = svc.client.pacer.remaining_today(slug, endpoint.operation_id, endpoint.limit)
            if count is not None:
                left[endpoint.operation_id] = count
    return left


def warm(
    svc: KlaviyoService,
    accounts: Sequence[str],
    catalog: Sequence[ToolSpec],
    *,
    share: float | None = None,
    deadline_seconds: float = REQUEST_DEADLINE_SECONDS,
) -> list[AccountRun]:
    """Warm ``accounts`` side by side; one :class:`AccountRun` per account, in the order given."""
    requests = plan(catalog)
    budget = svc.settings.warm_budget_share if share is None else share
    calls = _Calls()
    svc.client.observers.append(calls)
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_ACCOUNTS, len(accounts)))) as pool:
            futures = [
                pool.submit(warm_account, svc, slug, requests, calls, share=budget, deadline_seconds=deadline_seconds)
                for slug in accounts
            ]
            return [future.result() for future in futures]
    finally:
        svc.client.observers.remove(calls)


def main(argv: list[str] | None = None) -> int:
    """``python -m klaviyo_analytics warm [--account A | --all] [--json] [--dry-run] [--deadline S]``."""
    from klaviyo_analytics.config import load_settings
    from klaviyo_analytics.errors import ConfigError
    from klaviyo_analytics.service import build_service
    from klaviyo_analytics.tools import CATALOG

    parser = argparse.ArgumentParser(
        prog="python -m klaviyo_analytics warm",
        description="Fill the shared cache with the common questions' reports, within KLAVIYO_MCP_WARM_BUDGET_SHARE.",
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--account", help="one account (default: the only one)")
    who.add_argument("--all", action="store_true", help="every account in accounts.toml")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout, for machines")
    parser.add_argument("--dry-run", action="store_true", help="list the requests, ask Klaviyo nothing")
    parser.add_argument("--deadline", type=float, default=REQUEST_DEADLINE_SECONDS, help="seconds per request")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if (settings.quota_store or "").startswith("memory://"):
            raise ConfigError(
                "warm fills the cache the servers share, but KLAVIYO_MCP_QUOTA_STORE=memory:// lives only as long "
                "as this command; point it at the servers' store (sqlite:///… or redis://…)",
                variable="KLAVIYO_MCP_QUOTA_STORE",
            )
        service = build_service(settings)
        accounts = service.registry.names if args.all else [service.account(args.account).slug]
        if args.dry_run:
            labels = [request.label for request in plan(CATALOG)]
            document: Any = {"accounts": accounts, "requests": labels}
            text = "\n".join([f"accounts: {', '.join(accounts)}", *labels])
            runs: list[AccountRun] = []
        else:
            runs = warm(service, accounts, CATALOG, deadline_seconds=args.deadline)
            document = {"budget_share": settings.warm_budget_share, "accounts": [r.to_dict() for r in runs]}
            text = "\n".join(run.line() for run in runs)
    except KlaviyoMCPError as exc:
        sys.stderr.write(f"{exc.code}: {exc.message}\n")
        return 2
    sys.stdout.write((json.dumps(document, indent=1) if args.json else text) + "\n")
    return 0 if all(run.complete for run in runs) else 1

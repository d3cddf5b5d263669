"""KlaviyoService: the dependencies every tool handler shares, and a few shared moves.

Handlers are plain functions ``(service, params, ctx) -> ToolResult`` in the sibling
modules; they know nothing of MCP or HTTP and raise only the product's errors.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from klaviyo_analytics.actions.notify import Notifier
from klaviyo_analytics.auth.principal import LOCAL, Principal
from klaviyo_analytics.clock import SYSTEM_CLOCK, Clock, clock_for
from klaviyo_analytics.config import Settings
from klaviyo_analytics.klaviyo.accounts import Account, AccountRegistry, load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient, Observer
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.memo import note_uncacheable
from klaviyo_analytics.rules.timeframes import Period

if TYPE_CHECKING:  # the ledger loads when a tool first needs it (the ``ledger`` property)
    import httpx

    from klaviyo_analytics.actions.ledger import Ledger

ProgressFn = Callable[[float, float | None, str | None], None]
DataT = TypeVar("DataT", bound=BaseModel)


def _no_progress(done: float, total: float | None, message: str | None) -> None:
    return None


@dataclass
class CallContext:
    """Per-call state an adapter hands to a handler."""

    deadline: Deadline
    progress: ProgressFn = _no_progress
    caller: str = "local"
    # Who is calling, with which grants; run_tool enforces them. LOCAL (every account, every role)
    # is the single-user stdio case.
    principal: Principal = LOCAL
    # The adapter the call came through, for metrics ("mcp", "rest"); None: inferred from caller.
    transport: str | None = None
    # What a handler answered without, after a failure it chose to survive (a name, a count, a
    # size): run_tool then sets ``metadata.partial``, so the gap is machine-readable, not only a
    # warning. A list, so copies made with dataclasses.replace share it.
    incomplete: list[str] = field(default_factory=list)
    # Warnings found on the way that belong to every answer of this call (e.g. a setting to record).
    notes: list[str] = field(default_factory=list)
    # Entity ids the caller named, ``(kind, id, field)``, not yet checked: the first report request
    # checks them (``report_post``), so a typo is NOT_FOUND before any report quota is spent.
    named_ids: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class ToolResult(Generic[DataT]):
    data: DataT
    account: str | None = None
    period: Period | None = None
    warnings: list[str] = field(default_factory=list)
    extra_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """A report's result rows; series reports also carry the bucket starts."""

    results: list[dict[str, Any]]
    date_times: list[str] = field(default_factory=list)


class KlaviyoService:
    def __init__(
        self,
        settings: Settings,
        registry: AccountRegistry,
        client: KlaviyoClient,
        *,
        clock: Clock = SYSTEM_CLOCK,
        ledger: Ledger | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.client = client
        # The one clock: presets and "today" (its date in UTC), and the instant that decides which
        # report windows are over (freshness.py). KLAVIYO_MCP_TODAY pins it (build_service).
        self.clock = clock
        self._ledger = ledger
        # Idle until the first event (KLAVIYO_MCP_WEBHOOK_URL unset: a no-op); see webhooks.py.
        self.notifier = notifier or Notifier(settings.webhook_url, settings.webhook_secret)
        self._parent: KlaviyoService | None = None

    def today(self, account: Account | None = None) -> date:
        """Today in ``account``'s timezone (the one Klaviyo reads report windows in) when it names
        one, else in UTC: at 00:20 UTC on 1 January it is still 31 December in New York, so there
        "yesterday" is 30 December and "last_month" is November."""
        zone = _zone(account.timezone) if account is not None and account.timezone else None
        return self.clock.now().astimezone(zone).date() if zone else self.clock.today()

    def now(self) -> datetime:
        return self.clock.now()

    def scoped(self, accounts: Collection[str]) -> KlaviyoService:
        """This service seeing only ``accounts`` (a caller's grants): same client, cache and ledger.

        Handlers then resolve, list and default accounts among those alone, so no error or list
        names an account the caller may not see.
        """
        view = copy.copy(self)
        view.registry = AccountRegistry(
            {slug: account for slug, account in self.registry.accounts.items() if slug in accounts},
            self.registry.source,
        )
        view._parent = self._parent or self
        return view

    @property
    def ledger(self) -> Ledger:
        """The action ledger, opened on first use: a read-only session never creates the file."""
        note_uncacheable()  # what the ledger holds is not in the Klaviyo cache: never memoize it
        if self._parent is not None:
            return self._parent.ledger
        if self._ledger is None:
            from klaviyo_analytics.actions.backends import open_ledger

            self._ledger = open_ledger(self.settings, self.clock.now)
        return self._ledger

    def account(self, name: str | None) -> Account:
        return self.registry.resolve(name)

    def report_post(
        self,
        account: Account,
        path: str,
        body: dict[str, Any],
        ctx: CallContext,
        *,
        params: dict[str, str] | None = None,
        cache_ttl: float | None = None,
        observer: Observer | None = None,
    ) -> dict[str, Any]:
        """Every report request (values, series, metric aggregates) passes here: the ids the call
        named are checked first, each with one cached GET (entities.py), because a report costs a
        slot of a 2-a-minute, 225-a-day budget and a wrong id should not wait for one."""
        if ctx.named_ids:
            from klaviyo_analytics.service.entities import check_named_ids  # entities imports this module

            check_named_ids(self, account, ctx)
        document: dict[str, Any] = self.client.post(
            account, path, body, params=params, deadline=ctx.deadline, cache_ttl=cache_ttl, observer=observer
        )
        return document

    def values_report(
        self,
        account: Account,
        kind: str,
        period: Period,
        attributes: dict[str, Any],
        ctx: CallContext,
        observer: Observer | None = None,
        *,
        cache_ttl: float | None = None,
    ) -> Report:
        """All result rows of a ``{kind}-values-report`` or ``{kind}-series-report`` for one window.

        ``kind`` is e.g. ``campaign-values`` or ``flow-series``. Klaviyo's spec does not say how
        a report exposes a next page; a ``links.next`` carrying ``page_cursor`` is followed.
        """
        body = {
            "data": {
                "type": f"{kind}-report",
                "attributes": {"timeframe": period.klaviyo_timeframe(), **attributes},
            }
        }
        results: list[dict[str, Any]] = []
        date_times: list[str] = []
        params: dict[str, str] = {}
        seen: set[str] = set()
        while True:
            doc = self.report_post(
                account, f"/api/{kind}-reports", body, ctx, params=params or None, cache_ttl=cache_ttl,
                observer=observer,
            )  # fmt: skip
            attributes_out = (doc.get("data") or {}).get("attributes") or {}
            results.extend(attributes_out.get("results") or [])
            date_times = [str(d) for d in attributes_out.get("date_times") or []] or date_times
            cursor = _page_cursor((doc.get("links") or {}).get("next"))
            if not cursor or cursor in seen:
                return Report(results, date_times)
            seen.add(cursor)
            params = {"page_cursor": cursor}


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None  # the registry checks names; an unknown one falls back to UTC here


def _page_cursor(next_url: Any) -> str | None:
    if not isinstance(next_url, str):
        return None
    import httpx  # on the first paged report only

    query = httpx.URL(next_url).params
    cursor = query.get("page_cursor") or query.get("page[cursor]")
    return str(cursor) if cursor else None


def build_service(
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
    ledger: Ledger | None = None,
    clock: Clock | None = None,
) -> KlaviyoService:
    """The service and its client on one clock: ``clock``, else KLAVIYO_MCP_TODAY's pin, else the machine's."""
    clock = clock or clock_for(settings.today)
    registry = load_registry(settings)
    client = KlaviyoClient(settings, transport=transport, clock=clock)
    return KlaviyoService(settings, registry, client, ledger=ledger, clock=clock)

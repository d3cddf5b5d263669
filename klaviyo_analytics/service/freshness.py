"""How long a cached report may answer: long once its window is over, short while it is not.

A report over a window that ended before today (in the account's timezone, the one Klaviyo
reads a custom timeframe in) no longer moves, so it is kept for ``KLAVIYO_MCP_CACHE_TTL_CLOSED_SECONDS``;
a window that includes today is still filling up and is kept for ``KLAVIYO_MCP_CACHE_TTL_OPEN_SECONDS``.
The same rule holds for metric aggregates over a window.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.timeframes import Period
from klaviyo_analytics.service.core import CallContext, KlaviyoService

ACCOUNTS_PATH = "/api/accounts"
# Timezones change rarely; a day keeps the lookup off the hot path.
TIMEZONE_TTL_SECONDS = 86400.0
# UTC-12: where the calendar day starts last, so no account's today is earlier than its today.
WESTERNMOST = "Etc/GMT+12"


def account_timezone(svc: KlaviyoService, account: Account, ctx: CallContext) -> str:
    """The account's IANA timezone: from accounts.toml, else from Klaviyo (cached for a day)."""
    if account.timezone:
        return account.timezone
    document = svc.client.get(account, ACCOUNTS_PATH, deadline=ctx.deadline, cache_ttl=TIMEZONE_TTL_SECONDS)
    for item in document.get("data") or []:
        timezone = (item.get("attributes") or {}).get("timezone")
        if timezone:
            return str(timezone)
    return "UTC"


def account_today(svc: KlaviyoService, account: Account, ctx: CallContext) -> date:
    """Today in the account's timezone, never later than the service's own today.

    The earlier of the two is the cautious choice: a window is only called closed when it is
    over by both clocks. The timezone comes from accounts.toml or an already cached lookup; the
    freshness rule never spends a call on it. Without one, the westernmost timezone stands in:
    that costs reuse for a few hours a day, never freshness.
    """
    zone_name = account.timezone
    if zone_name is None and svc.client.is_cached(account, "GET", ACCOUNTS_PATH):
        try:
            zone_name = account_timezone(svc, account, ctx)
        except KlaviyoMCPError:
            zone_name = None
    try:
        zone = ZoneInfo(zone_name or WESTERNMOST)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(WESTERNMOST)
    return min(svc.today(), svc.now().astimezone(zone).date())


def is_closed(svc: KlaviyoService, account: Account, period: Period, ctx: CallContext) -> bool:
    return period.end < account_today(svc, account, ctx)


def report_ttl(svc: KlaviyoService, account: Account, period: Period, ctx: CallContext) -> float:
    settings = svc.settings
    if is_closed(svc, account, period, ctx):
        return settings.cache_ttl_closed_seconds
    return settings.cache_ttl_open_seconds

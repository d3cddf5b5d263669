"""The report TTL rule: long once a window is over in the account's timezone, short while it is not."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from klaviyo_analytics.clock import ManualClock
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.rules.timeframes import Period
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.service.freshness import account_today, report_ttl
from tests.helpers import ONE_ACCOUNT, FakeKlaviyo, make_settings

TODAY_UTC = date(2026, 3, 15)


def service(tmp_path: Path, now: datetime, timezone: str | None) -> tuple[KlaviyoService, FakeKlaviyo]:
    accounts = {"acme": {**ONE_ACCOUNT["acme"], **({"timezone": timezone} if timezone else {})}}
    settings = make_settings(
        tmp_path, accounts, KLAVIYO_MCP_CACHE_TTL_CLOSED_SECONDS="7200", KLAVIYO_MCP_CACHE_TTL_OPEN_SECONDS="60"
    )
    fake = FakeKlaviyo()
    client = KlaviyoClient(settings, transport=fake.transport)
    svc = KlaviyoService(settings, load_registry(settings), client, clock=ManualClock(now))
    return svc, fake


def ctx() -> CallContext:
    return CallContext(Deadline(5))


def test_yesterday_in_utc_is_still_today_in_new_york(tmp_path: Path) -> None:
    # 02:00 UTC on the 15th is 22:00 on the 14th in New York: the 14th is not over there yet.
    svc, fake = service(tmp_path, datetime(2026, 3, 15, 2, tzinfo=UTC), "America/New_York")
    account = svc.account("acme")
    assert account_today(svc, account, ctx()) == date(2026, 3, 14)
    assert report_ttl(svc, account, Period(date(2026, 3, 8), date(2026, 3, 14)), ctx()) == 60
    assert report_ttl(svc, account, Period(date(2026, 3, 7), date(2026, 3, 13)), ctx()) == 7200
    assert fake.requests == []  # the rule never spends a call


def test_the_earlier_of_the_two_todays_wins(tmp_path: Path) -> None:
    # In Tokyo it is already the 16th, but the service's today (the 15th) bounds it.
    svc, _ = service(tmp_path, datetime(2026, 3, 15, 20, tzinfo=UTC), "Asia/Tokyo")
    account = svc.account("acme")
    assert account_today(svc, account, ctx()) == TODAY_UTC
    assert report_ttl(svc, account, Period(date(2026, 3, 1), TODAY_UTC), ctx()) == 60
    assert report_ttl(svc, account, Period(date(2026, 3, 1), date(2026, 3, 14)), ctx()) == 7200


def test_without_a_known_timezone_the_westernmost_stands_in(tmp_path: Path) -> None:
    # 11:00 UTC on the 15th is still the 14th at UTC-12: a window ending on the 14th stays open.
    svc, fake = service(tmp_path, datetime(2026, 3, 15, 11, tzinfo=UTC), None)
    account = svc.account("acme")
    assert report_ttl(svc, account, Period(date(2026, 3, 1), date(2026, 3, 14)), ctx()) == 60
    assert fake.requests == []

"""The seeded accounts: deterministic, sized as promised, shaped like Klaviyo's data."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from klaviyo_analytics.clock import ManualClock
from klaviyo_sandbox import Sandbox, SandboxConfig
from klaviyo_sandbox.data import COUNTS, build_world
from klaviyo_sandbox.events import DATA_DAYS
from klaviyo_sandbox.timeframes import preset

from .conftest import ANCHOR

REAL_KEY = re.compile(r"pk_[A-Za-z0-9]{30,}")


def test_same_seed_same_data_other_seed_other_data() -> None:
    first, again, other = (
        build_world(7, "small", ANCHOR),
        build_world(7, "small", ANCHOR),
        build_world(8, "small", ANCHOR),
    )
    assert list(first["acme"].campaigns) == list(again["acme"].campaigns)
    assert [c.name for c in first["acme"].campaigns.values()] == [c.name for c in again["acme"].campaigns.values()]
    assert list(first["acme"].campaigns) != list(other["acme"].campaigns)
    first["acme"].lists.clear()
    assert build_world(7, "small", ANCHOR)["acme"].lists  # copies: mutating one leaves the seed intact


def test_accounts_and_keys() -> None:
    sb = Sandbox(SandboxConfig(anchor=ANCHOR))
    by_slug = {a.slug: a for a in sb.accounts}
    assert set(by_slug) >= {"acme", "globex"}
    assert by_slug["acme"].key_env == "KLAVIYO_ACME_KEY"
    assert by_slug["globex"].key_env == "KLAVIYO_GLOBEX_KEY"
    assert by_slug["acme"].timezone != by_slug["globex"].timezone
    for account in sb.accounts:
        assert not REAL_KEY.search(account.api_key)
        metrics = sb.store.accounts[account.slug].metrics
        assert metrics[account.conversion_metric_id].name == "Placed Order"


@pytest.mark.parametrize("size", ["small", "large"])
def test_sizes(size: str) -> None:
    world = build_world(3, size, ANCHOR)  # type: ignore[arg-type]
    acme = world["acme"]
    expected = COUNTS[size]  # type: ignore[index]
    assert len(acme.lists) == expected["lists"]
    assert len(acme.campaigns) == expected["campaigns"]
    assert len(acme.flows) == expected["flows"]


def test_shapes_and_variety() -> None:
    acme = build_world(7, "small", ANCHOR)["acme"]
    assert all(
        re.fullmatch(r"[A-Za-z][A-Za-z0-9]{5}", i) for i in [*acme.lists, *acme.metrics, *acme.flows, *acme.segments]
    )
    assert all(
        re.fullmatch(r"[0-9A-Z]{26}", i) for i in [*acme.campaigns, *acme.profiles, *acme.templates, *acme.messages]
    )
    assert {c.channel for c in acme.campaigns.values()} == {"email", "sms"}
    sent = [c.send_time for c in acme.campaigns.values() if c.status == "Sent" and c.send_time]
    end = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, tzinfo=UTC)
    assert min(sent) > end - timedelta(days=400) and max(sent) < end
    assert {"Sent", "Draft", "Scheduled"} <= {c.status for c in acme.campaigns.values()}
    assert {f.status for f in acme.flows.values()} == {"live", "manual", "draft"}
    assert any(f.archived for f in acme.flows.values())
    assert len({f.trigger_type for f in acme.flows.values()}) >= 5
    assert {a.action_type for a in acme.actions.values()} >= {
        "send-email",
        "send-sms",
        "time-delay",
        "conditional-split",
    }
    assert {rec.opt_in_process for rec in acme.lists.values()} == {"single_opt_in", "double_opt_in"}
    assert all(rec.members for rec in acme.lists.values())
    assert all(seg.definition["condition_groups"] for seg in acme.segments.values())
    first_hour = min(
        st.series.hours[0] for streams in acme.events.by_metric.values() for st in streams if st.series.hours
    )
    assert first_hour * 3600 >= (end - timedelta(days=DATA_DAYS)).timestamp()


def test_default_anchor_is_today_on_the_real_date() -> None:
    today = Sandbox(SandboxConfig())
    assert today.anchor == datetime.now(UTC).date()
    assert abs((today.now() - datetime.now(UTC)).total_seconds()) < 5


def test_now_follows_the_anchor_or_the_clock() -> None:
    fixed = Sandbox(SandboxConfig(anchor=date(2025, 1, 10)))
    assert fixed.now().date() == date(2025, 1, 10)
    night = ManualClock(datetime(2027, 1, 1, 0, 20, tzinfo=UTC))
    pinned = Sandbox(SandboxConfig(clock=night))
    assert pinned.anchor == date(2027, 1, 1) and pinned.now() == night.now()
    night.advance(60)
    assert pinned.now() == datetime(2027, 1, 1, 0, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("today", "2026-02-28", "2026-03-01"),
        ("yesterday", "2026-02-27", "2026-02-28"),
        ("last_7_days", "2026-02-21", "2026-02-28"),
        ("last_30_days", "2026-01-29", "2026-02-28"),
        ("last_365_days", "2025-02-28", "2026-02-28"),
        ("last_3_months", "2025-11-28", "2026-02-28"),
        ("last_12_months", "2025-02-28", "2026-02-28"),
        ("this_week", "2026-02-23", "2026-03-02"),
        ("last_week", "2026-02-16", "2026-02-23"),
        ("this_month", "2026-02-01", "2026-03-01"),
        ("last_month", "2026-01-01", "2026-02-01"),
        ("this_year", "2026-01-01", "2027-01-01"),
        ("last_year", "2025-01-01", "2026-01-01"),
    ],
)
def test_timeframe_presets(key: str, start: str, end: str) -> None:
    now = datetime(2026, 2, 28, 15, 30, tzinfo=UTC)
    got = preset(key, now)
    assert (got[0].date().isoformat(), got[1].date().isoformat()) == (start, end)


def test_invalid_config_is_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        SandboxConfig(size="huge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time_scale"):
        SandboxConfig(time_scale=0)

"""Published rate limits: 429 + Retry-After when exceeded, none for a client pacing at the limits."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from klaviyo_sandbox import Sandbox, SandboxConfig
from klaviyo_sandbox.ratelimit import Limit, RateLimiter, format_seconds
from klaviyo_sandbox.spec import operations

from .conftest import ANCHOR, GLOBEX_KEY, ClientFactory
from .helpers import error_of, post


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _values_report(client: httpx.Client, conv: str) -> httpx.Response:
    return post(client, "/api/campaign-values-reports", {"type": "campaign-values-report", "attributes": {
        "statistics": ["recipients"], "timeframe": {"key": "last_30_days"}, "conversion_metric_id": conv}})  # fmt: skip


def test_report_burst_exceeded_answers_429_with_whole_unscaled_retry_after(make_client: ClientFactory) -> None:
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=0.5))
    client = make_client(sb)
    conv = sb.accounts[0].conversion_metric_id
    first = _values_report(client, conv)
    assert first.status_code == 200
    assert first.headers["RateLimit-Limit"] == "2"
    assert first.headers["RateLimit-Remaining"] == "1"
    second = _values_report(client, conv)
    assert second.status_code == 429
    assert error_of(second)["code"] == "throttled"
    # Whole seconds even at a time scale (Klaviyo's SDK reads it with int()): 1 Klaviyo second,
    # which lasts 0.5 s here.
    assert second.headers["Retry-After"] == "1" and int(second.headers["Retry-After"]) == 1
    retry = int(second.headers["Retry-After"]) * 0.5
    assert "RateLimit-Limit" not in second.headers
    assert sb.state()["rate_limited"] == 1
    time.sleep(retry + 0.02)
    assert _values_report(client, conv).status_code == 200  # burst window over; steady (2/30 s here) has room


def test_steady_window_and_integer_retry_after_at_scale_one(make_client: ClientFactory) -> None:
    clock = FakeClock()
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, clock=clock))
    client = make_client(sb)
    conv = sb.accounts[0].conversion_metric_id
    assert _values_report(client, conv).status_code == 200
    clock.now += 1.5
    assert _values_report(client, conv).status_code == 200
    clock.now += 1.5
    refused = _values_report(client, conv)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "57"  # the steady window opened 3 s ago
    clock.now += 57
    assert _values_report(client, conv).status_code == 200


def test_retry_after_stays_whole_klaviyo_seconds_when_windows_are_time_scaled(make_client: ClientFactory) -> None:
    clock = FakeClock()
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=0.01, clock=clock))
    client = make_client(sb)
    conv = sb.accounts[0].conversion_metric_id
    assert _values_report(client, conv).status_code == 200
    clock.now += 0.015  # past the 10 ms burst window, inside the 0.6 s steady one
    assert _values_report(client, conv).status_code == 200
    clock.now += 0.0153
    refused = _values_report(client, conv)
    assert refused.status_code == 429
    # 0.5697 s of scaled time left = 56.97 Klaviyo seconds, rounded up: what int() can read.
    assert refused.headers["Retry-After"] == "57" and int(refused.headers["Retry-After"]) == 57
    clock.now += 0.57
    assert _values_report(client, conv).status_code == 200


def test_client_pacing_at_the_published_limits_draws_no_429(make_client: ClientFactory) -> None:
    scale = 0.01  # 2/min becomes 2 per 0.6 s; 1/s becomes 1 per 10 ms
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=scale))
    client = make_client(sb)
    conv = sb.accounts[0].conversion_metric_id
    interval = 60 / 2 * scale * 1.05
    started = time.monotonic()
    for i in range(5):
        time.sleep(max(0.0, started + i * interval - time.monotonic()))
        assert _values_report(client, conv).status_code == 200
    assert sb.state()["rate_limited"] == 0


def test_limits_are_per_key_and_per_operation(make_client: ClientFactory) -> None:
    clock = FakeClock()
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, clock=clock))
    acme, globex = make_client(sb), make_client(sb, key=GLOBEX_KEY)
    assert _values_report(acme, sb.accounts[0].conversion_metric_id).status_code == 200
    assert _values_report(globex, sb.accounts[1].conversion_metric_id).status_code == 200
    assert _values_report(acme, sb.accounts[0].conversion_metric_id).status_code == 429
    assert acme.get("/api/accounts").status_code == 200  # another operation, another bucket


def test_profile_count_switches_to_the_lower_limit(make_client: ClientFactory) -> None:
    clock = FakeClock()
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, clock=clock))
    client = make_client(sb)
    list_id = client.get("/api/lists").json()["data"][0]["id"]
    counted = {"additional-fields[list]": "profile_count"}
    first = client.get(f"/api/lists/{list_id}", params=counted)
    assert first.headers["RateLimit-Limit"] == "15"
    assert client.get(f"/api/lists/{list_id}", params=counted).status_code == 429
    plain = client.get(f"/api/lists/{list_id}")
    assert plain.status_code == 200
    assert plain.headers["RateLimit-Limit"] == "750"


def test_daily_quota(make_client: ClientFactory) -> None:
    clock = FakeClock()
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, clock=clock))
    client = make_client(sb)
    statuses = []
    for i in range(151):
        clock.now += 0.5 if i % 10 else 61  # keep under 10/s and 150/min
        statuses.append(post(client, "/api/lists", {"type": "list", "attributes": {"name": f"L{i}"}}).status_code)
    assert statuses[:150] == [201] * 150
    assert statuses[150] == 429


def test_every_served_operation_has_spec_limits() -> None:
    for op in operations().values():
        assert {"burst", "steady"} <= set(op.limits), op.operation_id
        assert op.limits["burst"].window == 1 and op.limits["steady"].window == 60
    assert operations()["query_campaign_values"].limits["daily"] == Limit(225, 86400.0)
    [variant] = operations()["get_segment"].variants
    assert variant.limits == {"burst": Limit(1, 1.0), "steady": Limit(15, 60.0)}


@pytest.mark.parametrize(
    ("seconds", "scale", "shown"),
    [(0.2, 1.0, "1"), (57.0, 1.0, "57"), (0.3456, 0.01, "35"), (0.001, 0.01, "1"), (0.5, 0.5, "1"), (0.6, 0.5, "2")],
)
def test_retry_after_format(seconds: float, scale: float, shown: str) -> None:
    assert format_seconds(seconds, scale) == shown


def test_limiter_refusals_do_not_count() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    limits: dict[str, Any] = {"burst": Limit(1, 1.0), "steady": Limit(3, 60.0)}
    assert limiter.check("k", "op", limits).allowed
    assert not limiter.check("k", "op", limits).allowed
    clock.now += 1
    assert limiter.check("k", "op", limits).remaining == 1
    clock.now += 1
    assert limiter.check("k", "op", limits).remaining == 0
    clock.now += 1
    denied = limiter.check("k", "op", limits)
    assert not denied.allowed and denied.retry_after == pytest.approx(57)
    limiter.reset()
    assert limiter.check("k", "op", limits).allowed


def test_keys_of_one_account_share_its_quota_as_on_klaviyo(make_client: ClientFactory) -> None:
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=0.5))
    sb.add_key("acme", "pk_sandbox_acme_second", label="acme:second")
    first, second = make_client(sb), make_client(sb, key="pk_sandbox_acme_second")
    conv = sb.accounts[0].conversion_metric_id
    assert _values_report(first, conv).status_code == 200
    refused = _values_report(second, conv)  # another key, the same account: the burst is spent
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    # Another account keeps its own quota.
    other = make_client(sb, key=GLOBEX_KEY)
    assert _values_report(other, sb.accounts[1].conversion_metric_id).status_code == 200
    assert [e["key"] for e in sb.log()[-3:]] == ["acme:default", "acme:second", "globex:default"]

"""The client on the quota store: RATE_LIMITED at the limit, stale answers, the daily budget,
single-flight across clients, and the faults (store down at start, and at run time)."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from klaviyo_analytics import errors
from klaviyo_analytics.klaviyo.accounts import Account, load_registry
from klaviyo_analytics.klaviyo.cache import TTLCache, cache_key
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.pacing import Pacer
from klaviyo_analytics.quota import GuardedStore, MemoryStore, open_store
from klaviyo_analytics.quota.tally import tally
from tests.helpers import FakeClock, FakeKlaviyo, jsonapi, make_settings
from tests.servers import redis_server

REPORT = "/api/campaign-values-reports"


def report_body(key: str) -> dict[str, Any]:
    return {"data": {"type": "campaign-values-report", "attributes": {"timeframe": {"key": key}}}}


def counting_fake() -> FakeKlaviyo:
    fake = FakeKlaviyo()
    fake.route("POST", REPORT, lambda r: jsonapi({"data": {"type": "campaign-values-report", "attributes": {
        "results": [{"statistics": {"recipients": len(r.content)}}]}}}))  # fmt: skip
    return fake


def clocked_client(tmp_path: Path, fake: FakeKlaviyo, **env: str) -> tuple[KlaviyoClient, FakeClock, Account]:
    clock = FakeClock(1_800_000_000.0)
    settings = make_settings(tmp_path, **env)
    store = MemoryStore(clock)
    client = KlaviyoClient(
        settings, transport=fake.transport, pacer=Pacer(clock=clock, sleep=clock.sleep, store=store),
        cache=TTLCache(store, clock=clock), sleep=clock.sleep, rand=lambda: 0.5,
    )  # fmt: skip
    return client, clock, load_registry(settings).resolve("acme")


def test_the_third_report_in_a_minute_is_rate_limited_not_deadline_exceeded(tmp_path: Path) -> None:
    fake = counting_fake()
    client, clock, acme = clocked_client(tmp_path, fake)
    for key in ("last_30_days", "last_7_days"):
        client.post(acme, REPORT, report_body(key), deadline=Deadline(45, clock))
    with pytest.raises(errors.RateLimitedError) as caught:
        client.post(acme, REPORT, report_body("last_90_days"), deadline=Deadline(45, clock))
    assert len(fake.requests) == 2  # refused before sending: no 429 drawn from Klaviyo
    assert caught.value.details["limit"] == "steady"
    assert 45 < caught.value.details["retry_after_seconds"] <= 62
    assert "2 per minute" in caught.value.message and "try again in about" in caught.value.message


def test_a_stale_answer_is_served_flagged_when_the_quota_refuses(tmp_path: Path) -> None:
    fake = counting_fake()
    client, clock, acme = clocked_client(tmp_path, fake)
    first = client.post(acme, REPORT, report_body("last_30_days"), deadline=Deadline(45, clock))
    clock.now += client.settings.cache_ttl_seconds + 60  # expired, kept as stale
    for key in ("a", "b"):
        client.post(acme, REPORT, report_body(key), deadline=Deadline(45, clock))
    with tally() as use:
        again = client.post(acme, REPORT, report_body("last_30_days"), deadline=Deadline(5, clock))
    assert again == first and len(fake.requests) == 3
    extra, warnings = use.metadata(client.pacer, 0.5)
    assert extra["fetched_at"].startswith("2027-01-15T08:00")  # when the first answer was fetched
    assert any("cached report" in w for w in warnings)
    # Its age is read on the client's clock, not the machine's (the fetch was 6 min before, on it).
    assert any("fetched about 7 min ago" in w for w in warnings), warnings
    # Without a stale copy the same refusal is an error.
    with pytest.raises(errors.RateLimitedError):
        client.post(acme, REPORT, report_body("never-asked"), deadline=Deadline(5, clock))


def test_a_waiter_refused_as_the_identical_request_lands_gets_it_fresh_not_stale(tmp_path: Path) -> None:
    fake = counting_fake()
    client, clock, acme = clocked_client(tmp_path, fake)
    for key in ("a", "b"):  # the steady window is full: a report asked now is refused
        client.post(acme, REPORT, report_body(key), deadline=Deadline(45, clock))
    body = report_body("last_30_days")
    key = cache_key(client._cache_scope(acme), "POST", REPORT, None, body)
    answer = {"data": {"landed": True}}

    def another_process_leads(flight: str, seconds: float) -> bool:
        client.cache.put(key, answer, 600)  # ... and its answer lands while this caller is refused
        return False

    client.store.lead = another_process_leads  # type: ignore[method-assign]
    with tally() as use:
        got = client.post(acme, REPORT, body, deadline=Deadline(0.01, clock))
    assert got == answer and len(fake.requests) == 2
    extra, warnings = use.metadata(client.pacer, 0.5)
    assert "fetched_at" not in extra and not any("cached report" in w for w in warnings), warnings


def test_metadata_carries_the_daily_report_budget_and_warns_past_the_share(tmp_path: Path) -> None:
    fake = counting_fake()
    client, clock, acme = clocked_client(tmp_path, fake)
    with tally() as use:
        for key in ("a", "b", "c"):
            client.post(acme, REPORT, report_body(key), deadline=Deadline(300, clock))
        client.post(acme, REPORT, report_body("a"), deadline=Deadline(300, clock))  # cached: spends nothing
    extra, warnings = use.metadata(client.pacer, 0.01)
    assert extra["quota"]["reports_remaining_today"] == 222
    assert extra["quota"]["remaining_by_report"] == {"query_campaign_values": 222}
    assert any("spent 3 of the 225" in w for w in warnings)
    assert use.metadata(client.pacer, 0.5)[1] == []  # 3 of 225 is under half: no warning


def test_identical_concurrent_requests_in_two_processes_make_one_call(tmp_path: Path) -> None:
    calls: list[int] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        time.sleep(0.5)
        return jsonapi({"data": []})

    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", slow)
    settings = make_settings(tmp_path)
    acme = load_registry(settings).resolve("acme")
    # Two clients on one SQLite store: two processes as far as the store can tell.
    clients = [KlaviyoClient(settings, transport=fake.transport) for _ in range(2)]
    answers: list[Any] = []
    threads = [
        threading.Thread(target=lambda c=c: answers.append(c.get(acme, "/api/lists", deadline=Deadline(10))))
        for c in clients * 2
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [{"data": []}] * 4
    assert len(calls) == 1


def test_a_restart_reuses_the_cache_in_the_store(tmp_path: Path) -> None:
    fake = counting_fake()
    settings = make_settings(tmp_path)
    acme = load_registry(settings).resolve("acme")
    KlaviyoClient(settings, transport=fake.transport).post(acme, REPORT, report_body("x"), deadline=Deadline(10))
    KlaviyoClient(settings, transport=fake.transport).post(acme, REPORT, report_body("x"), deadline=Deadline(10))
    assert len(fake.requests) == 1


@pytest.mark.parametrize("value", ["redis://127.0.0.1:1/0", "sqlite:///{tmp}/a-file/quota.sqlite3"])
def test_an_unusable_store_at_start_is_a_config_error_naming_quota_store(tmp_path: Path, value: str) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    settings = make_settings(tmp_path, KLAVIYO_MCP_QUOTA_STORE=value.replace("{tmp}", str(tmp_path).lstrip("/")))
    with pytest.raises(errors.ConfigError) as caught:
        open_store(settings)
    assert caught.value.details["variable"] == "KLAVIYO_MCP_QUOTA_STORE"
    assert "KLAVIYO_MCP_QUOTA_STORE" in caught.value.message and "127.0.0.1:1" not in caught.value.message


@pytest.mark.parametrize("value", ["postgres://x", "sqlite://", "memory", "redis://"])
def test_a_bad_quota_store_value_names_the_variable(tmp_path: Path, value: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        make_settings(tmp_path, KLAVIYO_MCP_QUOTA_STORE=value)
    assert caught.value.details["variable"] == "KLAVIYO_MCP_QUOTA_STORE"


def test_redis_going_down_pauses_calls_serves_the_cache_and_resumes_when_it_answers(tmp_path: Path) -> None:
    from api.status import quota_component
    from klaviyo_analytics.service import KlaviyoService

    fake = counting_fake()
    with redis_server(tmp_path / "redis") as server:
        settings = make_settings(tmp_path, KLAVIYO_MCP_QUOTA_STORE=server.url)
        client = KlaviyoClient(settings, transport=fake.transport)
        service = KlaviyoService(settings, load_registry(settings), client)
        acme = load_registry(settings).resolve("acme")
        client.post(acme, REPORT, report_body("up"), deadline=Deadline(10))
        assert quota_component(service) == {"status": "ok", "backend": "redis", "degraded": False}
    # The server is gone: no request goes out (a process alone cannot keep the per-window counts
    # of the others), the refusal says why and when to retry, and what was cached still answers.
    sent = len(fake.requests)
    with tally() as use:
        with pytest.raises(errors.RateLimitedError) as caught:
            client.post(acme, REPORT, report_body("down-1"), deadline=Deadline(10))
        cached = client.post(acme, REPORT, report_body("up"), deadline=Deadline(10))
    assert len(fake.requests) == sent and cached is not None
    assert caught.value.details["limit"] == "quota_store" and caught.value.details["retry_after_seconds"] >= 1
    assert "KLAVIYO_MCP_QUOTA_STORE" in caught.value.message
    assert isinstance(client.store, GuardedStore) and client.store.degraded
    assert any("KLAVIYO_MCP_QUOTA_STORE" in w and "paused" in w for w in use.metadata(client.pacer, 0.5)[1])
    health = quota_component(service)
    assert health["status"] == "unavailable" and health["degraded"] is True
    # Back on the same port: the next probe ends the pause (nothing was sent meanwhile, so the
    # shared log is still complete) and calls go out again.
    server.start()
    try:
        assert quota_component(service)["status"] == "ok"
        client.post(acme, REPORT, report_body("back"), deadline=Deadline(10))
        assert len(fake.requests) == sent + 1 and not client.store.degraded
    finally:
        server.stop()


def test_clients_of_different_klaviyo_hosts_do_not_share_cached_answers(tmp_path: Path) -> None:
    fake = counting_fake()
    clients = [
        KlaviyoClient(make_settings(tmp_path, KLAVIYO_BASE_URL=url), transport=fake.transport)
        for url in ("http://127.0.0.1:9001", "http://127.0.0.1:9002")
    ]  # one store (beside the one ledger), two upstreams: a page from one may link to its own host
    acme = load_registry(clients[0].settings).resolve("acme")
    for client in clients * 2:
        client.post(acme, REPORT, report_body("x"), deadline=Deadline(10))
    assert len(fake.requests) == 2


@pytest.mark.parametrize("outcome", ["answer", "http_error", "timeout", "exception"])
def test_every_request_is_finished_in_the_store_however_it_ends(tmp_path: Path, outcome: str) -> None:
    # A send left in flight would hold its window (for everyone) until its flight expires.
    fake = FakeKlaviyo()

    def answer(_request: httpx.Request) -> httpx.Response:
        if outcome == "http_error":
            return jsonapi({"errors": [{"status": "400", "detail": "bad"}]}, status=400)
        if outcome == "timeout":
            raise httpx.ReadTimeout("slow")
        return jsonapi({"data": {"type": "campaign-values-report", "attributes": {"results": []}}})

    fake.route("POST", REPORT, answer)
    client, clock, acme = clocked_client(tmp_path, fake, KLAVIYO_MAX_RETRIES="0")
    if outcome == "exception":

        def crash(_record: Any) -> None:
            raise RuntimeError("an observer failed")

        client.observers.append(crash)
    with pytest.raises(Exception) if outcome != "answer" else contextlib.nullcontext():
        client.post(acme, REPORT, report_body("last_30_days"), deadline=Deadline(45, clock))
    store = client.pacer.store
    assert isinstance(store, MemoryStore)
    sends = [send for log in store._logs.values() for send in log.values()]
    assert len(sends) == 1 and not sends[0].open, sends

"""KlaviyoClient: headers, the retry rule, deadlines, pagination guards, cache, pacing, errors."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from klaviyo_analytics import errors
from klaviyo_analytics.config import Settings
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.cache import TTLCache
from klaviyo_analytics.klaviyo.client import KlaviyoClient, should_retry
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.pacing import Pacer
from tests.helpers import ACME_KEY, FakeClock, FakeKlaviyo, jsonapi, make_settings

LIST_DOC = {"data": [{"type": "list", "id": "L1"}], "links": {"self": "x"}}


def build(settings: Settings, fake: FakeKlaviyo, clock: FakeClock | None = None) -> tuple[KlaviyoClient, FakeClock]:
    clock = clock or FakeClock()
    client = KlaviyoClient(
        settings,
        transport=fake.transport,
        pacer=Pacer(settings.rate_limit_time_scale, clock=clock, sleep=clock.sleep),
        cache=TTLCache(clock=clock),
        sleep=clock.sleep,
        rand=lambda: 0.5,
    )
    return client, clock


@pytest.fixture
def acme(settings: Settings):  # type: ignore[no-untyped-def]
    return load_registry(settings).resolve("acme")


def test_sends_auth_revision_and_jsonapi_headers(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    fake = FakeKlaviyo()
    fake.route(
        "POST",
        "/api/lists",
        jsonapi({"data": {"type": "list", "id": "L9"}}, 201).__class__
        and (lambda r: jsonapi({"data": {"type": "list", "id": "L9"}}, 201)),
    )
    client, clock = build(settings, fake)
    client.post(
        acme, "/api/lists", {"data": {"type": "list", "attributes": {"name": "x"}}}, deadline=Deadline(5, clock)
    )
    sent = fake.requests[0]
    assert sent.headers["authorization"] == f"Klaviyo-API-Key {ACME_KEY}"
    assert sent.headers["revision"] == "2026-07-15"
    assert sent.headers["content-type"] == "application/vnd.api+json"
    assert sent.headers["accept"] == "application/vnd.api+json"


def test_retry_honours_retry_after(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    answers = [jsonapi({"errors": [{"code": "throttled"}]}, 429, {"Retry-After": "3"}), jsonapi(LIST_DOC)]
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", lambda r: answers.pop(0))
    client, clock = build(settings, fake)
    start = clock.now
    assert client.get(acme, "/api/lists", deadline=Deadline(45, clock)) == LIST_DOC
    assert len(fake.requests) == 2
    # The second request went out no sooner than Retry-After allowed.
    assert clock.now - start >= 3.0


def test_retry_after_is_scaled_with_the_rate_windows(tmp_path: Path) -> None:
    """A time-scaled sandbox answers whole Klaviyo seconds; KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE shortens them alike."""
    settings = make_settings(tmp_path, KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE="0.01")
    answers = [jsonapi({"errors": [{"code": "throttled"}]}, 429, {"Retry-After": "57"}), jsonapi(LIST_DOC)]
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", lambda r: answers.pop(0))
    client, clock = build(settings, fake)
    start = clock.now
    assert client.get(load_registry(settings).resolve("acme"), "/api/lists", deadline=Deadline(45, clock)) == LIST_DOC
    assert 0.57 <= clock.now - start < 2.0


def test_no_wait_past_the_deadline(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", lambda r: jsonapi({"errors": []}, 429, {"Retry-After": "100"}))
    client, clock = build(settings, fake)
    # A 429 whose Retry-After outlasts the deadline is a rate limit, and is named as one.
    with pytest.raises(errors.RateLimitedError) as caught:
        client.get(acme, "/api/lists", deadline=Deadline(10, clock))
    assert len(fake.requests) == 1
    assert caught.value.details["retry_after_seconds"] >= 100
    assert "try again in 100 s" in caught.value.message
    assert sum(clock.sleeps) < 10


def test_reads_retry_5xx_and_writes_do_not(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", lambda r: jsonapi({"errors": [{"detail": "boom"}]}, 503))
    fake.route("POST", "/api/lists", lambda r: jsonapi({"errors": [{"detail": "boom"}]}, 500))
    client, clock = build(settings, fake)
    with pytest.raises(errors.UpstreamError) as read_error:
        client.get(acme, "/api/lists", deadline=Deadline(45, clock))
    assert read_error.value.code == "UPSTREAM_ERROR"
    assert len(fake.requests) == 1 + settings.klaviyo_max_retries
    fake.requests.clear()
    with pytest.raises(errors.UpstreamError):
        client.post(acme, "/api/lists", {"data": {}}, deadline=Deadline(45, clock))
    assert len(fake.requests) == 1  # a write that may have landed is never blindly repeated


def test_connect_errors_are_retried_even_for_writes(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("refused", request=request)
        return jsonapi({"data": {"type": "list", "id": "L2"}}, 201)

    fake = FakeKlaviyo()
    fake.route("POST", "/api/lists", flaky)
    client, clock = build(settings, fake)
    assert client.post(acme, "/api/lists", {"data": {}}, deadline=Deadline(45, clock))["data"]["id"] == "L2"
    assert calls["n"] == 2


def test_should_retry_rule() -> None:
    assert should_retry(False, 429, None)
    assert not should_retry(False, 500, None)
    assert should_retry(True, 500, None)
    assert not should_retry(True, 404, None)
    assert should_retry(True, None, httpx.ReadTimeout("t"))
    assert not should_retry(False, None, httpx.ReadTimeout("t"))


def test_malformed_body_on_a_read_is_retried_then_reported(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", lambda r: httpx.Response(200, content=b'{"data": [tru'))
    client, clock = build(settings, fake)
    with pytest.raises(errors.UpstreamError, match="malformed"):
        client.get(acme, "/api/lists", deadline=Deadline(45, clock))
    assert len(fake.requests) == 1 + settings.klaviyo_max_retries


def test_pagination_follows_next_and_guards_loops_and_hosts(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    def paged(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("page[cursor]")
        if cursor is None:
            return jsonapi(
                {"data": [{"id": "a"}], "links": {"next": "https://a.klaviyo.com/api/lists?page%5Bcursor%5D=2"}}
            )
        return jsonapi({"data": [{"id": "b"}], "links": {"next": None}})

    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", paged)
    client, clock = build(settings, fake)
    assert [i["id"] for i in client.get_all(acme, "/api/lists", deadline=Deadline(45, clock))] == ["a", "b"]

    fake.route(
        "GET",
        "/api/lists",
        lambda r: jsonapi({"data": [], "links": {"next": "https://a.klaviyo.com/api/lists?page%5Bcursor%5D=same"}}),
    )
    client.cache.clear()
    with pytest.raises(errors.UpstreamError, match="same next page"):
        client.get_all(acme, "/api/lists", deadline=Deadline(45, clock))

    fake.route(
        "GET",
        "/api/lists",
        lambda r: jsonapi({"data": [], "links": {"next": "https://evil.example/api/lists?page%5Bcursor%5D=1"}}),
    )
    client.cache.clear()
    fake.requests.clear()
    with pytest.raises(errors.UpstreamError, match="another host"):
        client.get_all(acme, "/api/lists", deadline=Deadline(45, clock))
    assert all(r.url.host == "a.klaviyo.com" for r in fake.requests)


def test_pagination_page_cap(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    def endless(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("page[cursor]", "0"))
        return jsonapi(
            {"data": [{"id": str(n)}], "links": {"next": f"https://a.klaviyo.com/api/lists?page%5Bcursor%5D={n + 1}"}}
        )

    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", endless)
    client, clock = build(settings, fake)
    with pytest.raises(errors.UpstreamError, match="stopped after 5 pages"):
        list(client.paginate(acme, "/api/lists", deadline=Deadline(45, clock), max_pages=5))
    assert len(fake.requests) == 5


def test_cache_hits_isolation_ttl_and_no_errors(tmp_path: Path) -> None:
    from tests.helpers import TWO_ACCOUNTS

    settings = make_settings(tmp_path, TWO_ACCOUNTS, KLAVIYO_MCP_CACHE_TTL_SECONDS="60")
    registry = load_registry(settings)
    acme, globex = registry.resolve("acme"), registry.resolve("globex")
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", lambda r: jsonapi({"data": [{"id": r.url.params.get("filter", "all")}]}))
    client, clock = build(settings, fake)
    deadline = Deadline(45, clock)

    first = client.get(acme, "/api/lists", deadline=deadline)
    first["data"].append("mutated by caller")
    assert client.get(acme, "/api/lists", deadline=deadline) == {"data": [{"id": "all"}]}
    assert len(fake.requests) == 1  # served from cache, and the caller's mutation did not leak in
    client.get(acme, "/api/lists", {"filter": "x"}, deadline=deadline)
    client.get(globex, "/api/lists", deadline=deadline)
    assert len(fake.requests) == 3  # other params and other accounts are other entries
    clock.now += 61
    client.get(acme, "/api/lists", deadline=deadline)
    assert len(fake.requests) == 4  # expired

    fails = [jsonapi({"errors": []}, 404), jsonapi({"data": {"id": "T"}})]
    fake.route("GET", "/api/templates/T", lambda r: fails.pop(0))
    with pytest.raises(errors.NotFoundError):
        client.get(acme, "/api/templates/T", deadline=deadline)
    assert client.get(acme, "/api/templates/T", deadline=deadline) == {"data": {"id": "T"}}  # error was not cached
    assert client.cache.hits == 1


def test_cache_disabled_with_zero_ttl(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, KLAVIYO_MCP_CACHE_TTL_SECONDS="0")
    acme = load_registry(settings).resolve("acme")
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", LIST_DOC)
    client, clock = build(settings, fake)
    client.get(acme, "/api/lists", deadline=Deadline(5, clock))
    client.get(acme, "/api/lists", deadline=Deadline(5, clock))
    assert len(fake.requests) == 2


def test_pacing_never_exceeds_burst_or_steady(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    sent_at: list[float] = []

    def accounts(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return jsonapi({"data": []})

    fake = FakeKlaviyo()
    fake.route("GET", "/api/accounts", accounts)
    client, _ = build(make_settings_with_cache_off(settings), fake, clock)
    for _ in range(40):
        client.get(acme, "/api/accounts", deadline=Deadline(1000, clock))
    # get_accounts: 1/s burst, 15/min steady. No window of either length, anywhere, holds more.
    for i, t in enumerate(sent_at):
        assert sum(1 for u in sent_at[i:] if u - t < 1.0) <= 1
        assert sum(1 for u in sent_at[i:] if u - t < 60.0) <= 15
    assert sent_at[-1] - sent_at[0] >= 120  # 40 calls at 15/min need at least two more minutes


def make_settings_with_cache_off(settings: Settings) -> Settings:
    from dataclasses import replace

    return replace(settings, cache_ttl_seconds=0)


@pytest.mark.parametrize(
    ("status", "body", "error", "needle"),
    [
        (401, {"errors": [{"code": "not_authenticated"}]}, errors.UpstreamAuthError, "KLAVIYO_ACME_KEY"),
        (403, {"errors": [{"code": "permission_denied"}]}, errors.MissingScopeError, "lists:read"),
        (404, {"errors": [{"detail": "no list"}]}, errors.NotFoundError, "no list"),
        (409, {"errors": [{"detail": "dup", "meta": {"duplicate_profile_id": "P1"}}]}, errors.ConflictError, "dup"),
        (
            400,
            {"errors": [{"detail": "bad filter", "source": {"parameter": "filter"}}]},
            errors.InvalidArgumentError,
            "bad filter",
        ),
        (418, {"errors": []}, errors.UpstreamError, "HTTP 418"),
    ],
)
def test_status_errors_map_into_the_tree(settings: Settings, acme, status, body, error, needle) -> None:  # type: ignore[no-untyped-def]
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists/L1", lambda r: jsonapi(body, status))
    client, clock = build(settings, fake)
    with pytest.raises(error) as caught:
        client.get(acme, "/api/lists/L1", deadline=Deadline(45, clock))
    assert needle in caught.value.message or needle in json.dumps(caught.value.details)
    assert ACME_KEY not in caught.value.message
    if status == 403:
        assert caught.value.details["missing_scopes"] == ["lists:read"]
    if status == 400:
        assert caught.value.details["field"] == "filter"


def test_exhausted_429_is_rate_limited(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, KLAVIYO_MAX_RETRIES="1")
    acme = load_registry(settings).resolve("acme")
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", lambda r: jsonapi({"errors": []}, 429, {"Retry-After": "2"}))
    client, clock = build(settings, fake)
    with pytest.raises(errors.RateLimitedError) as caught:
        client.get(acme, "/api/lists", deadline=Deadline(45, clock))
    assert caught.value.details["retry_after_seconds"] == 2


def test_transport_failures_map_to_upstream_error(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", timeout)
    client, clock = build(settings, fake)
    with pytest.raises(errors.UpstreamError, match="in time"):
        client.get(acme, "/api/lists", deadline=Deadline(45, clock))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/campaign-send-jobs", {"data": {"type": "campaign-send-job", "id": "C1"}}),
        ("PATCH", "/api/campaign-send-jobs/C1", {"data": {}}),
        ("PATCH", "/api/flows/F1", {"data": {"type": "flow", "id": "F1", "attributes": {"status": "live"}}}),
        ("PATCH", "/api/flows/F1", {"data": {"type": "flow", "id": "F1", "attributes": {"status": "LIVE"}}}),
        ("DELETE", "/api/lists/L1", None),  # not an operation the product performs
        (
            "POST",
            "/api/flows",
            {
                "data": {
                    "type": "flow",
                    "attributes": {
                        "name": "x",
                        "definition": {
                            "actions": [{"temporary_id": "a", "type": "send-email", "data": {"status": "live"}}]
                        },
                    },
                }
            },
        ),
    ],
)
def test_denylist_refuses_send_schedule_and_unknown_operations(settings, acme, method, path, body) -> None:  # type: ignore[no-untyped-def]
    fake = FakeKlaviyo()
    client, clock = build(settings, fake)
    with pytest.raises(errors.ForbiddenActionError):
        client.request(acme, method, path, body=body, deadline=Deadline(5, clock))
    assert fake.requests == []


def test_pausing_a_flow_is_allowed(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    fake = FakeKlaviyo()
    fake.route("PATCH", "/api/flows/F1", {"data": {"type": "flow", "id": "F1", "attributes": {"status": "manual"}}})
    client, clock = build(settings, fake)
    body = {"data": {"type": "flow", "id": "F1", "attributes": {"status": "manual"}}}
    assert client.patch(acme, "/api/flows/F1", body, deadline=Deadline(5, clock))["data"]["id"] == "F1"


def test_keys_never_reach_the_logs(settings: Settings, acme, capsys) -> None:  # type: ignore[no-untyped-def]
    from klaviyo_analytics.logs import configure_logging, get_logger

    configure_logging("DEBUG")
    answers = [jsonapi({"errors": []}, 503), jsonapi({"errors": [{"detail": f"bad key {ACME_KEY}"}]}, 401)]
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", lambda r: answers.pop(0))
    client, clock = build(settings, fake)
    with pytest.raises(errors.UpstreamAuthError) as caught:
        client.get(acme, "/api/lists", deadline=Deadline(45, clock))
    get_logger("test").info("echo", header=f"Klaviyo-API-Key {ACME_KEY}", authorization="x")
    logged = capsys.readouterr().err
    assert "klaviyo.retry" in logged and "echo" in logged
    assert ACME_KEY not in logged
    assert ACME_KEY not in json.dumps(caught.value.to_dict())


def test_is_cached_peeks_without_counting(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", LIST_DOC)
    client, clock = build(settings, fake)
    assert not client.is_cached(acme, "GET", "/api/lists")
    client.get(acme, "/api/lists", deadline=Deadline(5, clock))
    hits, misses = client.cache.hits, client.cache.misses
    assert client.is_cached(acme, "get", "/api/lists")
    assert (client.cache.hits, client.cache.misses) == (hits, misses)
    clock.now += settings.cache_ttl_seconds + 1
    assert not client.is_cached(acme, "GET", "/api/lists")


def test_client_observers_see_every_attempt(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    from klaviyo_analytics.klaviyo.client import CallRecord

    answers = [jsonapi({"errors": []}, 503), jsonapi(LIST_DOC)]
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", lambda r: answers.pop(0))
    client, clock = build(settings, fake)
    seen: list[CallRecord] = []
    per_call: list[CallRecord] = []
    client.observers.append(seen.append)
    client.get(acme, "/api/lists", deadline=Deadline(45, clock), observer=per_call.append)
    assert [(r.operation, r.status, r.attempt) for r in seen] == [("get_lists", 503, 0), ("get_lists", 200, 1)]
    assert per_call == seen


def test_the_http_client_is_made_before_the_first_slot_is_taken(settings: Settings, acme) -> None:  # type: ignore[no-untyped-def]
    """Made lazily (start-up), but never between a rate-limit slot and its send."""
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists", lambda _r: jsonapi(LIST_DOC))
    client, clock = build(settings, fake)
    assert client._http_client is None  # nothing made at construction
    seen: list[bool] = []
    acquire = client.pacer.acquire

    def watching(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(client._http_client is not None)
        return acquire(*args, **kwargs)

    client.pacer.acquire = watching  # type: ignore[method-assign]
    client.get(acme, "/api/lists", deadline=Deadline(5, clock))
    assert seen == [True]


def test_a_changed_key_is_never_answered_from_the_old_keys_cache(tmp_path: Path) -> None:
    """The cache outlives the process (a SQLite or Redis store): after an account's key changes, the reads
    the old key fetched must not answer for the new one — a wrong new key fails everywhere, not only on
    the tools whose answers happened to be cold."""
    from dataclasses import replace

    settings = make_settings(tmp_path, KLAVIYO_MCP_CACHE_TTL_SECONDS="60")
    old = load_registry(settings).resolve("acme")
    new = replace(old, api_key="pk_a_different_key_0000000000000000")
    fake = FakeKlaviyo()

    def lists(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] != f"Klaviyo-API-Key {ACME_KEY}":
            return jsonapi({"errors": [{"code": "not_authenticated", "detail": "bad key"}]}, status=401)
        return jsonapi({"data": [{"id": "L1"}]})

    fake.route("GET", "/api/lists", lists)
    client, clock = build(settings, fake)
    assert client.get(old, "/api/lists", deadline=Deadline(5, clock)) == {"data": [{"id": "L1"}]}
    with pytest.raises(errors.UpstreamAuthError):
        client.get(new, "/api/lists", deadline=Deadline(5, clock))
    assert len(fake.requests) == 2
    # The namespace names the key by a keyed hash, never the key itself.
    assert old.key_fingerprint != new.key_fingerprint and len(old.key_fingerprint) == 16
    assert ACME_KEY not in old.key_fingerprint and old.key_fingerprint not in (ACME_KEY, new.api_key)

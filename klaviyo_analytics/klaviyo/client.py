"""KlaviyoClient: the only module that talks HTTP.

One shared sync ``httpx.Client`` (safe across threads) with an injectable transport: tests
and the sandbox plug in there, never by patching this class. Every request goes through
:meth:`KlaviyoClient.request`, which, in order: refuses send/schedule operations, serves a
cached read, lets one caller fetch a read that identical callers (threads or processes) are
waiting for (single-flight through the quota store), paces at the endpoint's published limit,
sends with the auth and revision headers, retries by the one rule in :func:`should_retry`,
caches a successful read, and maps every failure into the product's error tree
(:mod:`klaviyo_analytics.errors`). Pacing, cache and single-flight state live in one quota
store (:mod:`klaviyo_analytics.quota`) shared by every process that names it. When the quota
refuses a read that was cached before (now stale), the stale answer is served, flagged.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from klaviyo_analytics.clock import SYSTEM_CLOCK, Clock
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ForbiddenActionError, KlaviyoMCPError, RateLimitedError, UpstreamError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.klaviyo.cache import TTLCache, cache_key, store_key
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.endpoints import FORBIDDEN_PREFIXES, Resolved, resolve
from klaviyo_analytics.klaviyo.memo import note_uncacheable
from klaviyo_analytics.klaviyo.pacing import FLIGHT_MARGIN_SECONDS, Pacer, rate_limited
from klaviyo_analytics.klaviyo.redact import redact
from klaviyo_analytics.klaviyo.upstream_errors import MalformedResponse, map_status_error
from klaviyo_analytics.logs import get_logger
from klaviyo_analytics.quota import GuardedStore, QuotaStore, open_store
from klaviyo_analytics.quota.tally import note_degraded, note_report, note_stale

if TYPE_CHECKING:
    # httpx (≈ 55 ms and a few MiB: its package import loads its CLI, rich and pygments) is imported
    # where a request is first made or an error first examined, not when the server starts.
    import httpx

JSONAPI = "application/vnd.api+json"
USER_AGENT = "klaviyo-mcp/0.1"
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0
DEFAULT_MAX_PAGES = 200
# Single-flight: how often a waiting caller looks for the leader's answer, and the longest a
# leader may hold the flight (its own deadline is usually shorter) before others take over.
FLIGHT_POLL_SECONDS = 0.05
FLIGHT_LEASE_CAP_SECONDS = 120.0

log = get_logger("klaviyo_analytics.client")


@dataclass(frozen=True)
class CallRecord:
    """One upstream attempt, as the execution trace and the metrics see it (already redacted)."""

    account: str
    operation: str
    method: str
    path: str
    body: Any
    status: int | None
    latency_ms: float
    attempt: int
    error: str | None = None


Observer = Callable[[CallRecord], None]


def should_retry(read: bool, status: int | None, exc: Exception | None) -> bool:
    """The one retry rule.

    A 429 was refused before any work was done, and a connect failure never reached Klaviyo:
    both are always safe to repeat. A 5xx, a read timeout or a garbled body may hide a write
    that landed, so only reads repeat them; writes are made safe one level up, by the action
    executor's journal and check-before-create.
    """
    if status == 429:
        return True
    import httpx

    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    if not read:
        return False
    if status is not None and status >= 500:
        return True
    return isinstance(exc, httpx.TransportError | MalformedResponse)


def retry_delay(attempt: int, retry_after: float | None, rand: Callable[[], float] = random.random) -> float:
    """Capped exponential backoff with full jitter; Retry-After, when given, is the floor.

    Retry-After is not capped: retrying sooner only draws another 429. The caller's deadline
    is what bounds the wait.
    """
    backoff = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2.0**attempt)) * rand()
    if retry_after is not None:
        return retry_after + backoff * 0.1
    return backoff


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


class KlaviyoClient:
    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        cache: TTLCache | None = None,
        pacer: Pacer | None = None,
        store: QuotaStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        observers: list[Observer] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = settings
        # One store for pacing, cache and single-flight; opened (and checked) from KLAVIYO_MCP_QUOTA_STORE unless
        # a test hands in its own pacer and cache.
        if store is None and (cache is None or pacer is None):
            store = open_store(settings)
        # Expiries and pacing windows live in a store other processes share: the clock's shared time.
        self.clock = clock
        self.cache = (
            cache
            if cache is not None
            else TTLCache(store, clock=clock.shared_time, keep_seconds=settings.cache_stale_seconds)
        )
        self.pacer = (
            pacer
            if pacer is not None
            else Pacer(
                settings.rate_limit_time_scale,
                clock=clock.shared_time,
                sleep=sleep,
                store=store,
                # A send of a process that died mid-request holds its window until its timeout has surely passed.
                flight_seconds=settings.klaviyo_timeout_seconds + FLIGHT_MARGIN_SECONDS,
            )
        )
        self.store: QuotaStore = store if store is not None else self.pacer.store
        self._sleep = sleep
        self._rand = rand
        self._base = urlsplit(settings.klaviyo_base_url)
        self._transport = transport
        self._http_client: httpx.Client | None = None
        self._http_lock = threading.Lock()
        # Called with every upstream attempt (metrics, audits); a per-request observer adds to these.
        self.observers: list[Observer] = list(observers or [])

    @property
    def _http(self) -> httpx.Client:
        """The httpx client, made on the first request: its TLS context and connection pool cost
        about 0.1 s, which a server answering only tools/list (or only cached reads) never needs."""
        if self._http_client is None:
            import httpx

            with self._http_lock:
                if self._http_client is None:
                    self._http_client = httpx.Client(
                        base_url=self.settings.klaviyo_base_url,
                        transport=self._transport,
                        timeout=self.settings.klaviyo_timeout_seconds,
                        headers={
                            "accept": JSONAPI, "revision": self.settings.klaviyo_revision, "user-agent": USER_AGENT,
                        },
                        follow_redirects=False,
                    )  # fmt: skip
        return self._http_client

    def close(self) -> None:
        if self._http_client is not None:
            self._http_client.close()

    # -- public verbs -------------------------------------------------------------------------

    def get(self, account: Account, path: str, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        return self.request(account, "GET", path, params=params, **kw)

    def post(self, account: Account, path: str, body: Any, **kw: Any) -> Any:
        return self.request(account, "POST", path, body=body, **kw)

    def patch(self, account: Account, path: str, body: Any, **kw: Any) -> Any:
        return self.request(account, "PATCH", path, body=body, **kw)

    def delete(self, account: Account, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request(account, "DELETE", path, body=body, **kw)

    def paginate(
        self,
        account: Account,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        deadline: Deadline,
        max_pages: int = DEFAULT_MAX_PAGES,
        cache_ttl: float | None = None,
        observer: Observer | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield each page document, following ``links.next`` with a loop guard and a page cap."""
        seen: set[str] = set()
        next_path, next_params = path, dict(params or {})
        for _ in range(max_pages):
            page = self.request(
                account, "GET", next_path, params=next_params, deadline=deadline,
                cache_ttl=cache_ttl, observer=observer,
            )  # fmt: skip
            yield page
            next_url = (page.get("links") or {}).get("next") if isinstance(page, dict) else None
            if not next_url:
                return
            if next_url in seen:
                raise UpstreamError("Klaviyo returned the same next page twice; stopped to avoid a loop")
            seen.add(next_url)
            next_path, next_params = self._same_origin(next_url)
        raise UpstreamError(
            f"stopped after {max_pages} pages of {path}; narrow the request with a filter",
            max_pages=max_pages,
        )

    def get_all(self, account: Account, path: str, params: Mapping[str, Any] | None = None, **kw: Any) -> list[Any]:
        items: list[Any] = []
        for page in self.paginate(account, path, params, **kw):
            items.extend(page.get("data") or [])
        return items

    def is_cached(
        self, account: Account, method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> bool:
        """Whether ``request`` would answer from the cache now (so it would not wait for a slot)."""
        return self.cache.contains(cache_key(self._cache_scope(account), method.upper(), path, params, body))

    # -- the one request path -----------------------------------------------------------------

    def request(
        self,
        account: Account,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        deadline: Deadline,
        cache_ttl: float | None = None,
        observer: Observer | None = None,
    ) -> Any:
        method = method.upper()
        resolved = self._check_allowed(method, path, params, body)
        read = resolved.endpoint.read
        ttl = self.settings.cache_ttl_seconds if cache_ttl is None else cache_ttl
        key = cache_key(self._cache_scope(account), method, path, params, body) if read and ttl > 0 else None
        report = read and resolved.limit.daily is not None
        if isinstance(self.store, GuardedStore) and self.store.degraded:
            note_degraded()
        what = f"{resolved.endpoint.operation_id} for account {account.slug!r}"

        def fetch() -> Any:
            return self._send_paced(account, method, path, params, body, deadline, resolved, key, ttl, observer, what)

        if key is None:
            note_uncacheable()  # a write or an uncached read: the call's answer is not the cache's alone
            return fetch()
        cached = self.cache.get(key)
        if cached is not None:
            if report:
                note_report(account.slug, resolved.bucket, resolved.limit, sent=False)
            return cached
        try:
            return self._single_flight(key, fetch, account, resolved, deadline, what)
        except BaseException:
            note_uncacheable()  # a handler that survives this failure answers without it
            raise

    # -- internals ----------------------------------------------------------------------------

    def _cache_scope(self, account: Account) -> str:
        # The store may be shared with processes talking to another Klaviyo (a sandbox, a proxy):
        # their answers (and the next-page links inside them) are not this host's. And it outlives the
        # process: after a key change, what the old key fetched is not this key's answer.
        return f"{self.settings.klaviyo_base_url}|{account.slug}|{account.key_fingerprint}"

    def _single_flight(
        self, key: str, fetch: Callable[[], Any], account: Account, resolved: Resolved, deadline: Deadline, what: str
    ) -> Any:
        """One caller fetches; identical callers (here or in other processes) wait for its answer.

        A waiter whose deadline runs out while the quota holds the leader back is told RATE_LIMITED
        (with the wait), like the leader would be; a stale answer, if kept, is served instead.
        """
        flight = f"flight:{store_key(key)}"
        try:
            while True:
                if self.store.lead(flight, min(deadline.remaining(), FLIGHT_LEASE_CAP_SECONDS)):
                    try:
                        return fetch()
                    finally:
                        self.store.release(flight)
                # Another caller is fetching this very read: its answer lands in the shared cache.
                if not deadline.allows(FLIGHT_POLL_SECONDS):
                    peek = self.store.reserve(account.slug, resolved.bucket, self.pacer.windows(resolved.limit), -1.0)
                    if peek.wait > 0:
                        raise rate_limited(what, resolved.limit, peek.limit, peek.wait, deadline.budget)
                    raise deadline.exceeded(f"{what} (waiting for an identical request in flight)")
                self._sleep(FLIGHT_POLL_SECONDS)
                cached = self.cache.get(key)
                if cached is not None:
                    return cached
        except RateLimitedError:
            # The identical request may have landed since the last look: then its answer is fresh,
            # and serving it flagged "stale, the rate limit is used up" would be false.
            landed = self.cache.get(key)
            if landed is not None:
                return landed
            stale = self.cache.entry(key)
            if stale is None:
                raise
            log.warning("klaviyo.stale_answer", operation=resolved.endpoint.operation_id, account=account.slug)
            note_stale(stale.fetched_at, self.cache.now())
            note_uncacheable()
            return stale.value

    def _send_paced(
        self,
        account: Account,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        deadline: Deadline,
        resolved: Resolved,
        key: str | None,
        ttl: float,
        observer: Observer | None,
        what: str,
    ) -> Any:
        read = resolved.endpoint.read
        report = read and resolved.limit.daily is not None
        # The httpx client (and the httpx import) is made before the slot is taken, never between
        # the slot and the send: on a first request that took ~0.1 s, long enough for another
        # process's next slot to reach Klaviyo first and draw a 429.
        self._http  # noqa: B018
        attempt = 0
        while True:
            permit = self.pacer.acquire(account.slug, resolved.bucket, resolved.limit, deadline, what)
            try:
                if report:
                    note_report(account.slug, resolved.bucket, resolved.limit, sent=True)
                status, payload, exc, retry_after = self._send_once(account, method, path, params, body, deadline,
                                                                    resolved, attempt, observer)  # fmt: skip
            finally:
                # Answered, failed, timed out or interrupted: Klaviyo has counted it by now (if at
                # all), so the next sends of this bucket, in every process, space from this instant.
                self.pacer.finish(permit)
            if exc is None and status is not None and status < 400:
                if key is not None:
                    self.cache.put(key, payload, ttl)
                return payload
            if status == 429 and retry_after is not None:
                self.pacer.block(account.slug, resolved.bucket, retry_after)
            if attempt >= self.settings.klaviyo_max_retries or not should_retry(read, status, exc):
                raise self._final_error(account, resolved, status, payload, exc, retry_after)
            delay = retry_delay(attempt, retry_after, self._rand)
            if not deadline.allows(delay):
                if status == 429:  # a rate limit, not a slow Klaviyo: say so
                    raise self._final_error(account, resolved, status, payload, exc, retry_after)
                raise deadline.exceeded(what, wait_hint=delay)
            log.warning(
                "klaviyo.retry", operation=resolved.endpoint.operation_id, account=account.slug,
                status=status, error=type(exc).__name__ if exc else None, delay_s=round(delay, 3),
                attempt=attempt + 1,
            )  # fmt: skip
            self._sleep(delay)
            attempt += 1

    def _check_allowed(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> Resolved:
        if path.startswith(FORBIDDEN_PREFIXES):
            raise ForbiddenActionError(
                "sending or scheduling campaigns is not something this product does; "
                "review the draft and send it from Klaviyo"
            )
        resolved = resolve(method, path, params)
        if resolved is None or resolved.endpoint.forbidden:
            raise ForbiddenActionError(f"{method} {path} is not an operation this product performs")
        if resolved.endpoint.operation_id == "update_flow":
            status = ((body or {}).get("data") or {}).get("attributes", {}).get("status")
            if str(status).lower() == "live":
                raise ForbiddenActionError("setting a flow live starts sending; turn it on in Klaviyo after review")
        if resolved.endpoint.operation_id == "create_flow" and _live_action(body):
            raise ForbiddenActionError("a flow is created with draft actions only; turn it on in Klaviyo after review")
        return resolved

    def _send_once(
        self,
        account: Account,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        deadline: Deadline,
        resolved: Resolved,
        attempt: int,
        observer: Observer | None,
    ) -> tuple[int | None, Any, Exception | None, float | None]:
        import httpx

        headers = {"authorization": f"Klaviyo-API-Key {account.api_key}"}
        content = None
        if body is not None:
            headers["content-type"] = JSONAPI
            content = json.dumps(body, separators=(",", ":")).encode()
        timeout = min(self.settings.klaviyo_timeout_seconds, max(deadline.remaining(), 0.001))
        started = time.perf_counter()
        status: int | None = None
        payload: Any = None
        exc: Exception | None = None
        retry_after: float | None = None
        try:
            response = self._http.request(
                method, path, params=dict(params or {}), content=content, headers=headers, timeout=timeout
            )
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None:  # whole Klaviyo seconds; a time-scaled sandbox's are shorter
                retry_after *= self.settings.rate_limit_time_scale
            payload = _decode(response)
        except (httpx.HTTPError, MalformedResponse) as error:
            exc = error
        latency_ms = (time.perf_counter() - started) * 1000
        record = CallRecord(
            account.slug, resolved.endpoint.operation_id, method, path, redact(body), status,
            round(latency_ms, 2), attempt, type(exc).__name__ if exc else None,
        )  # fmt: skip
        log.debug("klaviyo.call", **{k: v for k, v in record.__dict__.items() if k != "body"})
        for watcher in [*self.observers, *([observer] if observer else [])]:
            watcher(record)
        return status, payload, exc, retry_after

    def _final_error(
        self,
        account: Account,
        resolved: Resolved,
        status: int | None,
        payload: Any,
        exc: Exception | None,
        retry_after: float | None,
    ) -> KlaviyoMCPError:
        import httpx

        operation = resolved.endpoint.operation_id
        if exc is not None and status is None:
            if isinstance(exc, httpx.TimeoutException):
                return UpstreamError(f"Klaviyo did not answer {operation} in time; try again", operation=operation)
            return UpstreamError(
                f"could not reach Klaviyo for {operation} ({type(exc).__name__}); check the network "
                "and KLAVIYO_BASE_URL, then try again",
                operation=operation,
            )
        if isinstance(exc, MalformedResponse) and (status is None or status < 400):
            return UpstreamError(
                f"Klaviyo returned a malformed response to {operation}; try again", operation=operation
            )
        return map_status_error(account, resolved.endpoint, status or 0, payload, retry_after)

    def _same_origin(self, url: str) -> tuple[str, dict[str, str]]:
        """Split a ``links.next`` URL, refusing to send the key anywhere but the configured host."""
        parts = urlsplit(url)
        if parts.netloc and (parts.scheme, parts.netloc) != (self._base.scheme, self._base.netloc):
            raise UpstreamError("Klaviyo's next-page link points at another host; refusing to follow it")
        prefix = self._base.path.rstrip("/")
        path = parts.path[len(prefix) :] if prefix and parts.path.startswith(prefix) else parts.path
        return path, dict(parse_qsl(parts.query, keep_blank_values=True))


def _decode(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        if 200 <= response.status_code < 300 and response.status_code != 204:
            raise MalformedResponse("empty body")
        return None
    try:
        document = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedResponse("body is not JSON") from exc
    if response.status_code < 400 and not (isinstance(document, dict) and "data" in document):
        raise MalformedResponse("body is not a JSON:API document")
    return document


def _live_action(body: Any) -> bool:
    """A flow definition with an action posted as live would start sending once the flow is on."""
    definition = (((body or {}).get("data") or {}).get("attributes") or {}).get("definition") or {}
    actions = definition.get("actions") if isinstance(definition, dict) else None
    return any(
        str(((a.get("data") or {}) if isinstance(a, dict) else {}).get("status")).lower() == "live"
        for a in actions or []
    )

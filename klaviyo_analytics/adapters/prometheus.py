"""Prometheus metrics, one registry per ``PrometheusMetrics`` (so each app, and each test, has its own).

Where each family comes from:

    klaviyo_tool_calls_total{tool,transport,outcome}         run_tool → observe_tool (both adapters)
    klaviyo_tool_duration_seconds{tool,transport}            run_tool → observe_tool
    klaviyo_tool_partial_results_total{tool,transport}       run_tool: metadata.partial (deadline cut it short)
    klaviyo_upstream_calls_total{rate_class,operation,status}  KlaviyoClient.observers, one per attempt
    klaviyo_upstream_rate_limited_total{rate_class,operation}  the same, Klaviyo's 429s only
    klaviyo_upstream_duration_seconds{rate_class}            the same
    klaviyo_cache_hits_total / klaviyo_cache_misses_total    the client's cache counters, read at scrape
    klaviyo_pacing_wait_seconds_total                        the pacer's total wait, read at scrape
    klaviyo_ledger_proposals{status}, klaviyo_ledger_up      ledger_health(), read at scrape

The ledger is read at scrape time rather than counted here: its transitions happen in every
process that shares the file (the MCP server executes, gunicorn workers approve), so only the
ledger itself knows them all. A ``transitions`` mapping (to-status → count) in
``ledger_health()`` is exported as ``klaviyo_ledger_transitions_total`` when present.

Several gunicorn workers: with ``PROMETHEUS_MULTIPROC_DIR`` in the environment, prometheus-client
keeps every counter and histogram in per-process files there, and a scrape (``render``) sums the
files of every worker, so whichever worker answers, one scrape sees every call. The cache and pacer
counts, read at scrape in one process, are then folded into counters after each tool call
(``ClientCounters``), so they are summed too; the ledger's families are shared anyway.
``api/gunicorn_hooks.py`` empties the directory when gunicorn starts and marks exited workers.

``bind(service, metrics)`` attaches a registry to a service; ``observe_tool`` finds it from the
service, so a service without metrics (the CLI, most tests) costs one dictionary lookup.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from klaviyo_analytics.klaviyo.client import CallRecord
from klaviyo_analytics.klaviyo.endpoints import ENDPOINTS, REPORT, XS, L, M, S
from klaviyo_analytics.logs import get_logger

if TYPE_CHECKING:
    from klaviyo_analytics.service.core import KlaviyoService

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Tool calls run from milliseconds (cached) to the 45 s deadline.
TOOL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 45.0, 60.0)
UPSTREAM_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RATE_CLASSES = {XS: "XS", S: "S", M: "M", L: "L", REPORT: "REPORT"}
OPERATION_CLASS = {e.operation_id: RATE_CLASSES.get(e.limit, "other") for e in ENDPOINTS}
TRANSPORTS = frozenset({"mcp", "rest", "local"})

log = get_logger("klaviyo_analytics.metrics")


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiproc_dir() -> str | None:
    """The multiprocess directory prometheus-client uses: it reads the real environment, so do we."""
    return os.environ.get(MULTIPROC_ENV) or None


def transport_of(caller: str) -> str:
    """The adapter a call came through, from ``CallContext.caller`` (REST callers are token fingerprints)."""
    if caller.startswith("token:"):
        return "rest"
    return caller if caller in TRANSPORTS else "other"


def status_label(status: int | None, error: str | None) -> str:
    if status is None:
        return "error" if error else "none"
    return "429" if status == 429 else f"{status // 100}xx"


class PrometheusMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.tool_calls = Counter(
            "klaviyo_tool_calls", "Tool calls by outcome (ok or an error code).", ["tool", "transport", "outcome"],
            registry=r,
        )  # fmt: skip
        self.tool_seconds = Histogram(
            "klaviyo_tool_duration_seconds", "Wall-clock time of a tool call.", ["tool", "transport"],
            buckets=TOOL_BUCKETS, registry=r,
        )  # fmt: skip
        self.partials = Counter(
            "klaviyo_tool_partial_results", "Results cut short by the deadline (metadata.partial).",
            ["tool", "transport"], registry=r,
        )  # fmt: skip
        self.upstream_calls = Counter(
            "klaviyo_upstream_calls", "Klaviyo API attempts (retries included) by rate-limit class.",
            ["rate_class", "operation", "status"], registry=r,
        )  # fmt: skip
        self.upstream_429 = Counter(
            "klaviyo_upstream_rate_limited", "Klaviyo 429 answers by rate-limit class.",
            ["rate_class", "operation"], registry=r,
        )  # fmt: skip
        self.upstream_seconds = Histogram(
            "klaviyo_upstream_duration_seconds", "Latency of one Klaviyo API attempt.", ["rate_class"],
            buckets=UPSTREAM_BUCKETS, registry=r,
        )  # fmt: skip
        self._collector: ServiceCollector | None = None
        self._tool_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self.client_counters = ClientCounters(r) if multiproc_dir() is not None else None

    def observe_tool(self, tool: str, transport: str, seconds: float, outcome: str, *, partial: bool = False) -> None:
        # The labelled children, looked up once per label set: labels() validates and locks on every call.
        key = (tool, transport, outcome)
        children = self._tool_children.get(key)
        if children is None:
            children = (self.tool_calls.labels(tool, transport, outcome), self.tool_seconds.labels(tool, transport))
            self._tool_children[key] = children
        children[0].inc()
        children[1].observe(max(seconds, 0.0))
        if partial:
            self.partials.labels(tool, transport).inc()

    def observe_call(self, record: CallRecord) -> None:
        rate_class = OPERATION_CLASS.get(record.operation, "other")
        self.upstream_calls.labels(rate_class, record.operation, status_label(record.status, record.error)).inc()
        if record.status == 429:
            self.upstream_429.labels(rate_class, record.operation).inc()
        self.upstream_seconds.labels(rate_class).observe(max(record.latency_ms, 0.0) / 1000)

    def render(self) -> bytes:
        if multiproc_dir() is None:
            return generate_latest(self.registry)
        # Every worker's counters from the shared directory, plus this worker's read-at-scrape families.
        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
        if self._collector is not None:
            self._collector.sync()
            scrape.register(self._collector)
        return generate_latest(scrape)


class ClientCounters:
    """The client's cache and pacer totals as multiprocess counters: each sync adds what grew since."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.hits = Counter("klaviyo_cache_hits", "Klaviyo reads answered from the cache.", registry=r)
        self.misses = Counter("klaviyo_cache_misses", "Klaviyo reads not in the cache.", registry=r)
        self.wait = Counter(
            "klaviyo_pacing_wait_seconds", "Time spent waiting for a Klaviyo rate-limit slot.", registry=r
        )
        self._seen = (0.0, 0.0, 0.0)
        self._lock = threading.Lock()

    def sync(self, hits: float, misses: float, wait: float) -> None:
        with self._lock:  # gunicorn threads may finish tool calls at once
            for counter, now, before in zip(
                (self.hits, self.misses, self.wait), (hits, misses, wait), self._seen, strict=True
            ):
                if now > before:
                    counter.inc(now - before)
            self._seen = (max(hits, self._seen[0]), max(misses, self._seen[1]), max(wait, self._seen[2]))


class ServiceCollector(Collector):
    """Counters a service keeps itself (cache, pacer, ledger), read when Prometheus scrapes."""

    def __init__(self, service: KlaviyoService, counters: ClientCounters | None = None) -> None:
        self._service = weakref.ref(service)
        self._counters = counters

    def sync(self) -> None:
        """Fold the client's totals into the multiprocess counters (several workers only)."""
        service = self._service()
        if service is not None and self._counters is not None:
            client = service.client
            self._counters.sync(client.cache.hits, client.cache.misses, client.pacer.total_wait_seconds)

    def collect(self) -> Iterator[Metric]:
        service = self._service()
        if service is None:
            return
        if self._counters is not None:  # several workers: they are in the shared files instead
            yield from ledger_families(service)
            return
        client = service.client
        yield CounterMetricFamily("klaviyo_cache_hits", "Klaviyo reads answered from the cache.", client.cache.hits)
        yield CounterMetricFamily("klaviyo_cache_misses", "Klaviyo reads not in the cache.", client.cache.misses)
        yield CounterMetricFamily(
            "klaviyo_pacing_wait_seconds", "Time spent waiting for a Klaviyo rate-limit slot.",
            client.pacer.total_wait_seconds,
        )  # fmt: skip
        yield from ledger_families(service)


def ledger_families(service: KlaviyoService) -> Iterator[Metric]:
    up = GaugeMetricFamily("klaviyo_ledger_up", "1 if the action ledger answered the last scrape.")
    try:
        health = service.ledger.ledger_health()
    except Exception:  # a broken ledger must not break the scrape that reports it
        log.exception("metrics.ledger_unavailable")
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    proposals = GaugeMetricFamily("klaviyo_ledger_proposals", "Proposals in the ledger by status.", labels=["status"])
    for status, count in sorted(dict(health.get("proposals") or {}).items()):
        proposals.add_metric([str(status)], float(count))
    yield proposals
    stale = GaugeMetricFamily("klaviyo_ledger_stale_leases", "Executions whose executor's lease lapsed (crashed).")
    stale.add_metric([], float(health.get("stale_leases") or 0))
    yield stale
    transitions = health.get("transitions")
    if isinstance(transitions, dict):
        family = CounterMetricFamily(
            "klaviyo_ledger_transitions", "Proposal status changes by target status.", labels=["to_status"]
        )
        for status, count in sorted(transitions.items()):
            family.add_metric([str(status)], float(count))
        yield family


_BOUND: weakref.WeakKeyDictionary[KlaviyoService, PrometheusMetrics] = weakref.WeakKeyDictionary()


def bind(service: KlaviyoService, metrics: PrometheusMetrics) -> PrometheusMetrics:
    """Feed ``metrics`` from ``service``: its tool calls, its client's attempts, its counters.

    A service bound again (a second app over the same service) moves to the new registry, so no
    attempt is ever counted twice.
    """
    previous = _BOUND.get(service)
    if previous is not None and previous is not metrics:
        unbind(service)
    if metrics.observe_call not in service.client.observers:
        service.client.observers.append(metrics.observe_call)
    if metrics._collector is None:
        metrics._collector = ServiceCollector(service, metrics.client_counters)
        metrics.registry.register(metrics._collector)
    _BOUND[service] = metrics
    return metrics


def unbind(service: KlaviyoService) -> None:
    metrics = _BOUND.pop(service, None)
    if metrics is None:
        return
    if metrics.observe_call in service.client.observers:
        service.client.observers.remove(metrics.observe_call)
    if metrics._collector is not None:
        metrics.registry.unregister(metrics._collector)
        metrics._collector = None


def metrics_for(service: KlaviyoService) -> PrometheusMetrics | None:
    return _BOUND.get(service)


def observe_tool(
    service: KlaviyoService, tool: str, transport: str, seconds: float, outcome: str, *, partial: bool = False
) -> None:
    """Record one tool call on the service's registry, if it has one. Never raises."""
    metrics = _BOUND.get(service)
    if metrics is None:
        return
    try:
        metrics.observe_tool(tool, transport, seconds, outcome, partial=partial)
        if metrics._collector is not None:
            metrics._collector.sync()
    except Exception:  # metrics must never fail a tool call
        log.exception("metrics.observe_failed", tool=tool)

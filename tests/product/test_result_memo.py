"""The memo of finished results (memo.py): a warm read is a lookup, and never a wrong answer."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.cache import TTLCache
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.quota.memory import MemoryStore
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_analytics.tools.spec import ToolSpec
from klaviyo_sandbox import Sandbox
from tests.product.conftest import sandbox_settings

PERFORMANCE = ("klaviyo_get_campaign_performance", {"account": "acme", "timeframe": "last_30_days"})


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


def counted(name: str) -> tuple[ToolSpec, list[int]]:
    """The catalog entry with a handler that counts its runs."""
    spec = get_tool(name)
    runs: list[int] = []

    def handler(svc: KlaviyoService, params: Any, ctx: CallContext) -> Any:
        runs.append(1)
        return spec.handler(svc, params, ctx)

    return dataclasses.replace(spec, handler=handler), runs


def run(spec: ToolSpec, svc: KlaviyoService, args: dict[str, Any]) -> dict[str, Any]:
    return run_tool(spec, svc, args, CallContext(Deadline(45)))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(sandbox: Sandbox, tmp_path: Path, clock: Clock) -> KlaviyoService:
    settings = sandbox_settings(sandbox, tmp_path)
    store = MemoryStore(clock)
    client = KlaviyoClient(settings, transport=sandbox.transport, store=store, cache=TTLCache(store, clock))
    return KlaviyoService(settings, load_registry(settings), client, clock=sandbox.clock)


def without_latency(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "metadata": {k: v for k, v in payload["metadata"].items() if k != "latency_ms"}}


def test_a_warm_read_is_answered_from_the_memo_with_the_same_payload(svc: KlaviyoService) -> None:
    spec, runs = counted(PERFORMANCE[0])
    first = run(spec, svc, PERFORMANCE[1])
    second = run(spec, svc, PERFORMANCE[1])
    assert runs == [1], "the second call ran the handler again"
    assert without_latency(second) == without_latency(first)
    assert second["metadata"]["quota"] == first["metadata"]["quota"]


def test_a_reader_mutating_its_answer_cannot_change_the_next(svc: KlaviyoService) -> None:
    spec, _ = counted(PERFORMANCE[0])
    first = run(spec, svc, PERFORMANCE[1])
    expected = copy.deepcopy(without_latency(first))
    first["data"]["campaigns"].clear()
    first["warnings"].append("tampered")
    assert without_latency(run(spec, svc, PERFORMANCE[1])) == expected


def test_the_memo_ends_when_the_first_cache_entry_it_was_built_from_expires(svc: KlaviyoService, clock: Clock) -> None:
    spec, runs = counted("klaviyo_get_flows")
    run(spec, svc, {"account": "acme"})
    clock.now += svc.settings.cache_ttl_seconds - 1
    run(spec, svc, {"account": "acme"})
    assert runs == [1]
    clock.now += 2
    run(spec, svc, {"account": "acme"})
    assert runs == [1, 1], "an answer outlived the cache entry it was built from"


def test_clearing_the_cache_clears_the_memo(svc: KlaviyoService, sandbox: Sandbox) -> None:
    spec, runs = counted("klaviyo_get_flows")
    run(spec, svc, {"account": "acme"})
    svc.client.cache.clear()
    run(spec, svc, {"account": "acme"})
    assert runs == [1, 1]


def test_other_arguments_and_other_callers_views_are_other_entries(svc: KlaviyoService) -> None:
    spec, runs = counted("klaviyo_get_flows")
    run(spec, svc, {"account": "acme"})
    run(spec, svc, {"account": "acme", "archived": True})
    run(spec, svc.scoped(["acme"]), {"account": "acme"})
    assert runs == [1, 1, 1]


def test_a_partial_answer_is_never_kept(svc: KlaviyoService, sandbox: Sandbox) -> None:
    spec, runs = counted("klaviyo_get_list_health")
    # Sizes are paced at 1/s; a deadline too short for them leaves sizes pending.
    first = run_tool(spec, svc, {"account": "acme"}, CallContext(Deadline(0.5)))
    assert first["metadata"]["partial"] is True
    run_tool(spec, svc, {"account": "acme"}, CallContext(Deadline(0.5)))
    assert runs == [1, 1]


def test_the_ledger_is_never_memoized(svc: KlaviyoService) -> None:
    spec, runs = counted("klaviyo_list_actions")
    run(spec, svc, {})
    run(spec, svc, {})
    assert runs == [1, 1]


def test_the_quota_metadata_of_a_memoized_answer_is_current(svc: KlaviyoService) -> None:
    spec, runs = counted(PERFORMANCE[0])
    first = run(spec, svc, PERFORMANCE[1])
    # Another call spends one campaign-values report of the day.
    run(spec, svc, {"account": "acme", "timeframe": "last_7_days"})
    again = run(spec, svc, PERFORMANCE[1])
    assert len(runs) == 2
    before = first["metadata"]["quota"]["reports_remaining_today"]
    assert again["metadata"]["quota"]["reports_remaining_today"] == before - 1

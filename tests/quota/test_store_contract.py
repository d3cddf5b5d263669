"""One contract, every backend: the window rule, blocks, the daily count, cache and single-flight."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from klaviyo_analytics.quota import BLOCKED, QuotaStore, Window, store_from_url
from klaviyo_analytics.quota.base import earliest
from tests.quota.conftest import BACKENDS

WINDOWS = [Window("burst", 0.2, 2), Window("steady", 1.0, 5)]
REPO = Path(__file__).resolve().parents[2]


def overfull(times: Sequence[float], windows: Sequence[Window], tolerance: float = 1e-5) -> list[str]:
    """Every window of a limit's length that holds more slots than the limit (should be none)."""
    times = sorted(times)
    problems = []
    for window in windows:
        for i in range(len(times) - window.limit):
            if times[i + window.limit] - times[i] < window.seconds - tolerance:
                problems.append(
                    f"{window.name}: {window.limit + 1} slots within {times[i + window.limit] - times[i]:.3f} s"
                )
    return problems


def test_slots_follow_the_sliding_windows(store: QuotaStore) -> None:
    slots = []
    for _ in range(12):
        reservation = store.reserve("acme", "b", WINDOWS, max_wait=60)
        assert reservation.granted
        slots.append(reservation.at)
    assert overfull(slots, WINDOWS) == []
    # 12 slots at 5 per second need at least two full steady windows.
    assert max(slots) - min(slots) >= 2 * 1.0 - 0.05


def test_a_slot_too_far_away_is_refused_with_its_limit_and_not_taken(store: QuotaStore) -> None:
    for _ in range(5):
        store.reserve("acme", "b", WINDOWS, max_wait=60)
    refused = store.reserve("acme", "b", WINDOWS, max_wait=0.05)
    assert not refused.granted and refused.limit == "steady" and 0.5 < refused.wait <= 1.0
    assert store.used("acme", "b", 10) == 5  # the refusal took nothing
    peek = store.reserve("acme", "b", WINDOWS, max_wait=-1)
    assert not peek.granted and abs(peek.wait - refused.wait) < 0.1
    # Other accounts and buckets are untouched.
    assert store.reserve("globex", "b", WINDOWS, max_wait=0).granted
    assert store.reserve("acme", "other", WINDOWS, max_wait=0).granted


def test_a_block_holds_every_caller_and_never_shortens(store: QuotaStore) -> None:
    store.block("acme", "b", 2.0)
    store.block("acme", "b", 0.5)  # a shorter Retry-After later does not release it early
    refused = store.reserve("acme", "b", WINDOWS, max_wait=0.5)
    assert not refused.granted and refused.limit == BLOCKED and 1.8 < refused.wait <= 2.0
    assert store.reserve("globex", "b", WINDOWS, max_wait=0).granted


def test_an_unused_slot_given_back_frees_its_quota_and_nothing_else(store: QuotaStore) -> None:
    windows = [Window("burst", 0.01, 100), Window("steady", 60, 3)]
    taken = [store.reserve("acme", "b", windows, max_wait=1) for _ in range(3)]
    assert not store.reserve("acme", "b", windows, max_wait=1).granted  # the steady window is full
    store.unreserve("acme", "b", taken[1].at)
    store.unreserve("acme", "b", taken[1].at + 1.0)  # not a slot: nothing happens
    assert store.used("acme", "b", 60) == 2
    again = store.reserve("acme", "b", windows, max_wait=1)
    assert again.granted and again.at >= taken[2].at  # never placed before the last slot handed out


def test_used_counts_the_window(store: QuotaStore) -> None:
    windows = [Window("burst", 0.01, 100), Window("steady", 0.01, 100), Window("daily", 86400, 225)]
    for _ in range(7):
        assert store.reserve("acme", "reports", windows, max_wait=1).granted
    assert store.used("acme", "reports", 86400) == 7
    assert store.used("globex", "reports", 86400) == 0


def test_cache_fresh_then_stale_then_gone(store: QuotaStore) -> None:
    document = {"data": [{"id": "1", "attributes": {"name": "é"}}]}
    store.cache_put("k", document, ttl=0.3, keep=0.6)
    entry = store.cache_get("k")
    assert entry is not None and entry.value == document and entry.fresh(time.time())
    assert abs(entry.fetched_at - time.time()) < 1
    entry.value["data"].clear()  # a copy: the stored value is untouched
    time.sleep(0.4)
    stale = store.cache_get("k")
    assert stale is not None and not stale.fresh(time.time()) and stale.value == document
    time.sleep(0.7)
    assert store.cache_get("k") is None
    store.cache_put("a", 1, 10, 10)
    store.cache_clear()
    assert store.cache_get("a") is None


def test_a_corrupt_entry_is_discarded_not_served(store: QuotaStore) -> None:
    store.cache_put("k", {"data": []}, ttl=60, keep=60)
    store.corrupt("k", '{"data": [')  # type: ignore[attr-defined]
    assert store.cache_get("k") is None
    store.cache_put("k", {"data": [1]}, ttl=60, keep=60)
    assert store.cache_get("k") is not None


def test_one_leader_per_flight(store: QuotaStore) -> None:
    assert store.lead("f", 5)
    assert not store.lead("f", 5)
    assert store.lead("g", 5)
    store.release("f")
    assert store.lead("f", 0.2)
    time.sleep(0.3)
    assert store.lead("f", 5)  # a leader that vanished loses the flight when its lease ends


def test_the_sandbox_rule_and_the_store_rule_agree() -> None:
    # The reference rule, on a hand-made log: the third slot in 0.2 s waits for the first to age out.
    assert earliest([10.0, 10.1], WINDOWS, 10.15, 0.0) == (10.2, "burst")
    assert earliest([], WINDOWS, 5.0, 7.0) == (7.0, BLOCKED)


@pytest.mark.slow
@pytest.mark.serial  # real-time windows across processes: run alone (make test's serial pass)
def test_processes_sharing_a_store_never_exceed_a_limit(shared_url: str, tmp_path: Path) -> None:
    store_from_url(shared_url).ping()
    spec = json.dumps([{"name": w.name, "seconds": w.seconds, "limit": w.limit} for w in WINDOWS])
    outs = [tmp_path / f"sent-{i}.json" for i in range(4)]
    workers = [
        subprocess.Popen([sys.executable, "-m", "tests.quota.worker", shared_url, "3", str(out), spec], cwd=REPO)
        for out in outs
    ]
    for worker in workers:
        assert worker.wait(timeout=30) == 0
    sent = [at for out in outs for at in json.loads(out.read_text())]
    per_process = [len(json.loads(out.read_text())) for out in outs]
    assert all(count > 0 for count in per_process), per_process  # every process got slots
    assert overfull(sent, WINDOWS) == []
    # Together they used the quota, not 4 times it: about 5 per second for 3 s.
    assert 10 <= len(sent) <= 5 * 3 + 5, len(sent)


def test_every_backend_is_in_the_contract() -> None:
    assert BACKENDS == ["memory", "sqlite", "redis"]

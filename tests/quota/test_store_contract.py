"""One contract, every backend: the window rule (sends in flight, their answers and expiry), blocks,
the daily count, cache and single-flight."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from klaviyo_analytics.clock import SYSTEM_CLOCK
from klaviyo_analytics.quota import BLOCKED, QuotaStore, Window, store_from_url
from klaviyo_analytics.quota.base import Send, earliest
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


def test_a_send_in_flight_holds_its_window_until_its_answer(store: QuotaStore) -> None:
    windows = [Window("burst", 0.2, 1), Window("steady", 60, 10)]
    first = store.reserve("acme", "b", windows, max_wait=1, flight=30)
    assert first.granted and first.token
    # However long ago its slot was, the next slot waits for the answer: it is only pending.
    time.sleep(0.3)
    pending = store.reserve("acme", "b", windows, max_wait=1, flight=30)
    assert not pending.granted and pending.pending and pending.limit == "burst" and 0.15 < pending.wait <= 0.21
    assert store.used("acme", "b", 60) == 1  # the pending ask took nothing
    too_far = store.reserve("acme", "b", windows, max_wait=0.1, flight=30)
    assert not too_far.granted and not too_far.pending  # even the earliest answer would be too late
    store.finish("acme", "b", first.token)
    # The shared stores stamp answers on the machine's timeline (Clock.shared_time), which this reads too.
    answered = SYSTEM_CLOCK.shared_time() if store.backend != "memory" else None
    after = store.reserve("acme", "b", windows, max_wait=1, flight=30)
    # Spaced from the answer (0.3 s after the slot), not from the slot.
    assert after.granted and 0.15 < after.wait <= 0.21 and after.at - first.at >= 0.3 + 0.2 - 0.01
    if answered is not None:
        assert after.at >= answered - 0.05 + 0.2
    store.finish("acme", "b", first.token)  # a second finish changes nothing
    store.finish("acme", "b", "not-a-token")
    assert store.used("acme", "b", 60) == 2


def test_a_send_never_finished_counts_as_answered_when_its_flight_expires(store: QuotaStore) -> None:
    windows = [Window("burst", 0.2, 1)]
    lost = store.reserve("acme", "b", windows, max_wait=1, flight=0.3)  # its process died mid-request
    assert store.reserve("acme", "b", windows, max_wait=1, flight=0.3).pending
    time.sleep(0.35)
    after = store.reserve("acme", "b", windows, max_wait=1, flight=0.3)
    assert after.granted and after.at - lost.at >= 0.3 + 0.2 - 0.001 and after.wait <= 0.2


def test_pending_callers_get_slots_in_the_order_they_first_asked(store: QuotaStore) -> None:
    windows = [Window("burst", 0.05, 1)]
    first = store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="x")
    assert store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="early").pending
    time.sleep(0.01)
    assert store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="late").pending
    store.finish("acme", "b", first.token)
    time.sleep(0.06)
    # The slot is free, but "late" (like the caller whose answer just came) must let "early" go first.
    assert store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="late").pending
    assert store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="fresh").pending
    early = store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="early")
    assert early.granted
    store.finish("acme", "b", early.token)
    time.sleep(0.06)
    assert store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="late").granted
    # A refused caller leaves the queue at once.
    assert not store.reserve("acme", "b", windows, max_wait=0, flight=30, waiter="fresh").granted
    assert store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="next").pending


def test_a_caller_far_back_in_the_queue_is_refused_at_once(store: QuotaStore) -> None:
    windows = [Window("burst", 0.2, 1)]
    store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="x")  # in flight
    assert store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="a").pending  # slot >= now + 0.2
    assert store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="b").pending  # >= now + 0.4
    # Two waiters ahead, each a window after the other: no slot before 0.6 s, so a 0.5 s wait is refused.
    refused = store.reserve("acme", "b", windows, max_wait=0.5, flight=30, waiter="c")
    assert not refused.granted and not refused.pending and 0.55 < refused.wait <= 0.61
    assert store.reserve("acme", "b", windows, max_wait=5, flight=30, waiter="c").pending


def test_a_large_limit_lets_sends_fly_together(store: QuotaStore) -> None:
    windows = [Window("burst", 0.01, 100), Window("steady", 60, 3)]
    taken = [store.reserve("acme", "b", windows, max_wait=1, flight=30) for _ in range(3)]
    assert all(r.granted and r.wait < 0.05 for r in taken)  # three in flight at once: no waiting
    assert len({r.token for r in taken}) == 3
    fourth = store.reserve("acme", "b", windows, max_wait=100, flight=30)
    assert not fourth.granted and fourth.pending and fourth.limit == "steady"
    store.finish("acme", "b", taken[1].token)
    # One answer in: the third-latest answer is the finished one, 60 s from now.
    assert 59 < store.reserve("acme", "b", windows, max_wait=-1).wait <= 60
    refused = store.reserve("acme", "b", windows, max_wait=1, flight=30)
    assert not refused.granted and not refused.pending and refused.limit == "steady"


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
    done = [Send(10.0, 10.0, False), Send(10.1, 10.1, False)]
    assert earliest(done, WINDOWS, 10.15, 0.0) == (10.2, "burst", False)
    assert earliest([], WINDOWS, 5.0, 7.0) == (7.0, BLOCKED, False)
    # An answer that came late sets the slot; one still in flight makes it pending (a lower bound).
    assert earliest([Send(10.0, 10.14, False), Send(10.1, 10.12, False)], WINDOWS, 10.15, 0.0) == (
        pytest.approx(10.32),
        "burst",
        False,
    )
    assert earliest([Send(10.0, 40.0, True), Send(10.1, 10.1, False)], WINDOWS, 10.15, 0.0)[1:] == ("burst", False)
    assert earliest([Send(10.0, 40.0, True), Send(10.1, 40.0, True)], WINDOWS, 10.15, 0.0) == (
        pytest.approx(10.35),
        "burst",
        True,
    )
    # Past its expiry, a send in flight counts as answered then.
    assert earliest([Send(10.0, 10.05, True), Send(10.1, 40.0, True)], WINDOWS, 10.15, 0.0)[2] is False


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


def answered_too_soon(sends: Sequence[Sequence[float]], windows: Sequence[Window]) -> list[str]:
    """Every slot that starts within a window of more than ``limit - 1`` earlier answers."""
    problems = []
    ordered = sorted(sends)
    for j, (slot, _) in enumerate(ordered):
        for window in windows:
            recent = [answer for _, answer in ordered[:j] if answer > slot - window.seconds + 1e-4]
            if len(recent) >= window.limit:
                problems.append(f"{window.name}: slot {slot:.3f} within {window.seconds} s of {len(recent)} answers")
    return problems


@pytest.mark.slow
@pytest.mark.serial  # real-time windows across processes: run alone (make test's serial pass)
def test_processes_sharing_a_store_space_sends_from_answers(shared_url: str, tmp_path: Path) -> None:
    store_from_url(shared_url).ping()
    windows = [Window("burst", 0.05, 1), Window("steady", 1.0, 30)]
    spec = json.dumps([{"name": w.name, "seconds": w.seconds, "limit": w.limit} for w in windows])
    outs = [tmp_path / f"sent-{i}.json" for i in range(4)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.quota.worker", shared_url, "2", str(out), spec, "0.03"], cwd=REPO
        )
        for out in outs
    ]
    for worker in workers:
        assert worker.wait(timeout=30) == 0
    sends = [pair for out in outs for pair in json.loads(out.read_text())]
    assert all(json.loads(out.read_text()) for out in outs)  # every process sent
    assert answered_too_soon(sends, windows) == []
    # Slots alone would allow 20 per second; waiting for each answer (up to 30 ms) allows fewer.
    assert 10 <= len(sends) < 2 * 1 / 0.05, len(sends)


def test_every_backend_is_in_the_contract() -> None:
    assert BACKENDS == ["memory", "sqlite", "redis"]

"""A sleep that overruns its slot must not send early against the next caller: the pacer takes a
fresh slot instead (a loaded machine oversleeps by tens of milliseconds; found by two instances on
one account drawing 429s from the sandbox)."""

from __future__ import annotations

import itertools

from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.endpoints import RateLimit
from klaviyo_analytics.klaviyo.pacing import WINDOW_SLACK_SECONDS, Pacer
from klaviyo_analytics.quota import MemoryStore

ONE_PER_SECOND = RateLimit(1, 60)


class Clock:
    def __init__(self, oversleep: list[float]) -> None:
        self.now = 1000.0
        self.oversleep = oversleep  # extra seconds each sleep overruns by, in order
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds + (self.oversleep.pop(0) if self.oversleep else 0.0)


def sends(oversleep: list[float]) -> tuple[list[float], int, Clock]:
    clock = Clock(oversleep)
    store = MemoryStore(clock)
    pacer = Pacer(clock=clock, sleep=clock.sleep, store=store)
    sent = []
    for _ in range(3):
        pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(30, clock), "a report")
        sent.append(clock.now)
    return sent, store.used("acme", "reports", 3600), clock


def test_on_time_sleeps_use_one_slot_per_call() -> None:
    sent, slots, clock = sends([])
    assert slots == 3 and len(clock.sleeps) == 2
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 1.0


def test_an_overslept_slot_is_abandoned_and_a_fresh_one_taken() -> None:
    # The second call wakes 0.2 s late: had it sent, the third call's slot (planned from the
    # second's) would be under a second after it.
    sent, slots, _clock = sends([0.2])
    assert slots == 4, "the late slot was retaken"
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 1.0
    # A lateness within the slack is not worth a slot.
    sent, slots, _ = sends([WINDOW_SLACK_SECONDS / 2])
    assert slots == 3

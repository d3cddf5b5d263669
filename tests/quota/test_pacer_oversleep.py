"""A pacer that wakes late never sends into the next caller's slot: a slot is honoured only if the
send starts within SEND_BOUND_SECONDS of it, else a fresh one is taken (as often as the deadline
allows); and the pacer's local waits agree with the store's windows when the wall clock steps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from klaviyo_analytics.clock import ManualClock
from klaviyo_analytics.errors import RateLimitedError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.endpoints import RateLimit
from klaviyo_analytics.klaviyo.pacing import SEND_BOUND_SECONDS, WINDOW_SLACK_SECONDS, Pacer
from klaviyo_analytics.quota import MemoryStore, Reservation, Window

ONE_PER_SECOND = RateLimit(1, 60)
START = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


class LateClock(ManualClock):
    """A ManualClock whose sleeps overrun by the given amounts, in order (a loaded machine)."""

    def __init__(self, oversleep: list[float]) -> None:
        super().__init__(START)
        self.oversleep = oversleep
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds) + (self.oversleep.pop(0) if self.oversleep else 0.0))


def sends(clock: ManualClock, calls: int = 3, store: MemoryStore | None = None) -> tuple[list[float], int, Pacer]:
    store = store or MemoryStore(clock.time, monotonic=clock.monotonic)
    pacer = Pacer(clock=clock, store=store)
    sent = []
    for _ in range(calls):
        pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(30, clock.monotonic), "a report")
        sent.append(clock.monotonic())
    return sent, store.used("acme", "reports", 3600), pacer


def test_on_time_sleeps_use_one_slot_per_call() -> None:
    sent, slots, pacer = sends(LateClock([]))
    assert slots == 3 and pacer.late_retakes == 0
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 1.0 + WINDOW_SLACK_SECONDS


def test_an_overslept_slot_is_abandoned_and_a_fresh_one_taken() -> None:
    # The second call wakes 0.2 s late: had it sent, it would have been 0.2 s closer to the third.
    sent, slots, pacer = sends(LateClock([0.2]))
    assert slots == 3 and pacer.late_retakes == 1  # the late slot was given back
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 1.0 + WINDOW_SLACK_SECONDS
    # Lateness within the bound is honoured; just past it is not.
    assert sends(LateClock([SEND_BOUND_SECONDS / 2]))[1] == 3
    assert sends(LateClock([SEND_BOUND_SECONDS * 1.5]))[2].late_retakes == 1


def test_late_again_and_again_never_sends_anyway() -> None:
    # The old pacer sent after 3 late wake-ups; now only a slot honoured in time is ever used.
    sent, slots, pacer = sends(LateClock([0, 0.3, 0.3, 0.3, 0.3, 0.3]))
    assert pacer.late_retakes == 5 and slots == 3
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 1.0 + WINDOW_SLACK_SECONDS


class SlowStore(MemoryStore):
    """A store whose answer reaches the caller late (a preemption between store and socket)."""

    def __init__(self, clock: ManualClock, delays: list[float]) -> None:
        super().__init__(clock.time, monotonic=clock.monotonic)
        self.manual, self.delays = clock, delays

    def reserve(self, account: str, bucket: str, windows: list[Window], max_wait: float) -> Reservation:  # type: ignore[override]
        reservation = super().reserve(account, bucket, windows, max_wait)
        self.manual.advance(self.delays.pop(0) if self.delays else 0.0)
        return reservation


def test_a_slot_free_now_but_answered_late_is_retaken() -> None:
    # The old pacer sent at once whenever the slot was "now", however long the answer took.
    clock = ManualClock(START)
    sent, slots, pacer = sends(clock, store=SlowStore(clock, [0.0, 1.5]))
    assert pacer.late_retakes == 1 and slots == 3
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 1.0 + WINDOW_SLACK_SECONDS


def test_lateness_until_the_deadline_is_refused_not_sent() -> None:
    clock = LateClock([0.0] + [0.5] * 100)
    pacer = Pacer(clock=clock, store=MemoryStore(clock.time, monotonic=clock.monotonic))
    pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(5, clock.monotonic), "a report")
    with pytest.raises(RateLimitedError) as caught:
        pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(5, clock.monotonic), "a report")
    assert caught.value.details["limit"] == "burst" and pacer.late_retakes > 0


class SteppingClock(ManualClock):
    """Each sleep also steps the wall clock (NTP, a faked clock) by the given amounts, in order."""

    def __init__(self, steps: list[float]) -> None:
        super().__init__(START)
        self.steps = steps

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.steps:
            self.step_wall(self.steps.pop(0))


@pytest.mark.parametrize("step", [+30.0, -30.0, +0.5, -0.5])
def test_a_wall_clock_step_changes_neither_the_spacing_nor_the_slots(step: float) -> None:
    # The pacer's own store keeps its windows on the monotonic clock, and the pacer compares only
    # monotonic readings: a step during the wait is neither lateness nor a reason to send early.
    clock = SteppingClock([step, step, step])
    sent, slots, pacer = sends(clock, calls=4)
    assert pacer.late_retakes == 0 and slots == 4
    assert min(b - a for a, b in itertools.pairwise(sent)) >= 1.0 + WINDOW_SLACK_SECONDS
    assert max(b - a for a, b in itertools.pairwise(sent)) < 1.1 + WINDOW_SLACK_SECONDS  # no stall either


def test_a_default_pacer_is_immune_to_wall_steps_between_calls() -> None:
    clock = ManualClock(START)
    pacer = Pacer(clock=clock)
    sent = []
    for step in (0.0, 3600.0, -7200.0):
        clock.step_wall(step)
        pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(30, clock.monotonic), "a report")
        sent.append(clock.monotonic())
    assert [round(b - a, 3) for a, b in itertools.pairwise(sent)] == [round(1.02 + WINDOW_SLACK_SECONDS, 3)] * 2

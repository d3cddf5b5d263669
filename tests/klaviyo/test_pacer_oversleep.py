"""A pacer that wakes late, or a request that arrives late, never brings two arrivals closer than a
window: slots are spaced from the earlier sends' *answers*, whatever the scheduler does; and the
pacer's local waits agree with the store's windows when the wall clock steps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from klaviyo_analytics.clock import ManualClock
from klaviyo_analytics.errors import RateLimitedError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.klaviyo.endpoints import RateLimit
from klaviyo_analytics.klaviyo.pacing import WINDOW_MARGIN, WINDOW_SLACK_SECONDS, Pacer, Permit
from klaviyo_analytics.quota import MemoryStore

ONE_PER_SECOND = RateLimit(1, 60)
BURST = 1.0 * WINDOW_MARGIN + WINDOW_SLACK_SECONDS  # the burst window as the pacer stretches it
START = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


class LateClock(ManualClock):
    """A ManualClock whose sleeps overrun by the given amounts, in order (a loaded machine)."""

    def __init__(self, oversleep: list[float]) -> None:
        super().__init__(START)
        self.oversleep = oversleep

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds) + (self.oversleep.pop(0) if self.oversleep else 0.0))


def sends(
    clock: ManualClock, calls: int = 3, latency: float = 0.0, pacer: Pacer | None = None
) -> tuple[list[tuple[float, float]], Pacer]:
    """``calls`` requests one after another: (send start, answer) on the monotonic clock."""
    pacer = pacer or Pacer(clock=clock, store=MemoryStore(clock.time, monotonic=clock.monotonic))
    sent = []
    for _ in range(calls):
        permit = pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(30, clock.monotonic), "a report")
        start = clock.monotonic()
        clock.advance(latency)
        pacer.finish(permit)
        sent.append((start, clock.monotonic()))
    return sent, pacer


def gaps(sent: list[tuple[float, float]]) -> list[float]:
    """From each answer to the next send's start: what keeps arrivals a window apart."""
    return [b[0] - a[1] for a, b in itertools.pairwise(sent)]


def test_on_time_sleeps_space_sends_a_window_apart() -> None:
    sent, pacer = sends(LateClock([]))
    assert pacer.polls == 0 and min(gaps(sent)) >= BURST - 1e-9
    assert max(gaps(sent)) < BURST + 0.001  # and no more


def test_an_overslept_wake_up_only_delays_its_own_send() -> None:
    # The second call wakes 0.2 s late: the third is spaced from its (late) answer, not its slot.
    sent, _ = sends(LateClock([0.0, 0.2]))
    assert min(gaps(sent)) >= BURST - 1e-9
    sent, _ = sends(LateClock([0, 0.3, 0.3, 0.3, 0.3, 0.3]), calls=5)
    assert min(gaps(sent)) >= BURST - 1e-9


class AnsweringClock(ManualClock):
    """While a caller sleeps, the request in flight gets its answer at ``answer_at`` (monotonic)."""

    def __init__(self) -> None:
        super().__init__(START)
        self.pending: list[tuple[float, Pacer, Permit]] = []

    def sleep(self, seconds: float) -> None:
        target = self.monotonic() + max(0.0, seconds)
        for at, pacer, permit in sorted(self.pending, key=lambda item: item[0]):
            if at <= target:
                self.advance(max(0.0, at - self.monotonic()))
                pacer.finish(permit)
                self.pending.remove((at, pacer, permit))
        self.advance(max(0.0, target - self.monotonic()))


def test_a_slow_request_pushes_the_next_slot_back_to_its_answer() -> None:
    # Another caller's request is sent at once, reaches Klaviyo late and is answered 0.7 s later.
    # The slot rule alone would have sent the next request 1 s after the first *slot*; Klaviyo,
    # counting the first at its late arrival, would then see both within one second.
    clock = AnsweringClock()
    pacer = Pacer(clock=clock, store=MemoryStore(clock.time, monotonic=clock.monotonic))
    first = pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(30, clock.monotonic), "a report")
    first_sent = clock.monotonic()
    clock.pending.append((first_sent + 0.7, pacer, first))
    pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(30, clock.monotonic), "a report")
    assert clock.monotonic() - first_sent >= 0.7 + BURST - 1e-9
    assert clock.monotonic() - first_sent < 0.7 + BURST + 0.05  # polled, not stalled
    assert pacer.polls > 0


def test_a_request_whose_process_died_holds_its_window_until_its_flight_ends() -> None:
    clock = ManualClock(START)
    pacer = Pacer(clock=clock, store=MemoryStore(clock.time, monotonic=clock.monotonic), flight_seconds=3.0)
    pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(30, clock.monotonic), "a report")  # never finished
    lost = clock.monotonic()
    pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(30, clock.monotonic), "a report")
    assert 3.0 + BURST - 1e-9 <= clock.monotonic() - lost < 3.0 + BURST + 0.05


def test_an_answer_that_cannot_come_inside_the_deadline_is_refused_not_sent() -> None:
    clock = ManualClock(START)
    store = MemoryStore(clock.time, monotonic=clock.monotonic)
    pacer = Pacer(clock=clock, store=store)
    pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(5, clock.monotonic), "a report")  # in flight
    before = clock.monotonic()
    with pytest.raises(RateLimitedError) as caught:
        pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(5, clock.monotonic), "a report")
    assert caught.value.details["limit"] == "burst"
    assert clock.monotonic() - before <= 5.0  # never waited past the deadline
    assert store.used("acme", "reports", 3600) == 1  # and took no slot


def test_a_large_limit_costs_nearly_nothing() -> None:
    # Three calls per second allowed: three requests in flight at once never wait for each other.
    clock = ManualClock(START)
    pacer = Pacer(clock=clock, store=MemoryStore(clock.time, monotonic=clock.monotonic))
    permits = [pacer.acquire("acme", "b", RateLimit(3, 180), Deadline(30, clock.monotonic), "a call") for _ in range(3)]
    assert clock.monotonic() == ManualClock(START).monotonic() and pacer.polls == 0
    for permit in permits:
        pacer.finish(permit)


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
    # monotonic readings: a step during the wait is neither a reason to send early nor to stall.
    clock = SteppingClock([step, step, step])
    sent, pacer = sends(clock, calls=4, latency=0.05)
    assert pacer.store.used("acme", "reports", 3600) == 4
    assert min(gaps(sent)) >= BURST - 1e-9
    assert max(gaps(sent)) < BURST + 0.1  # no stall either


def test_a_default_pacer_is_immune_to_wall_steps_between_calls() -> None:
    clock = ManualClock(START)
    pacer = Pacer(clock=clock)
    sent = []
    for step in (0.0, 3600.0, -7200.0):
        clock.step_wall(step)
        pacer.finish(pacer.acquire("acme", "reports", ONE_PER_SECOND, Deadline(30, clock.monotonic), "a report"))
        sent.append(clock.monotonic())
    assert [round(b - a, 3) for a, b in itertools.pairwise(sent)] == [round(BURST, 3)] * 2

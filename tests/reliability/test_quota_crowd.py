"""Twelve product processes on one account, one Redis quota store, one sandbox on loopback (issue 23
item 9): with the store healthy they draw no 429; when Redis stops mid-run they pause instead of
pacing alone into each other's windows, and still draw no 429. Bounded: 12 processes, 6 s of load."""

from __future__ import annotations

from pathlib import Path

from bench.quota_hammer import PAUSED, crowd

ANSWERS = {"ok", "RATE_LIMITED"}


def test_twelve_processes_on_one_account_draw_no_429(tmp_path: Path) -> None:
    result = crowd(tmp_path, processes=12, seconds=6, scale=0.05)
    assert result["ready_together"] == 12, result
    assert result["sandbox_429s"] == 0, result
    outcomes = result["outcomes"]
    assert set(outcomes) <= ANSWERS, outcomes
    assert outcomes.get("ok", 0) > 0 and outcomes.get("RATE_LIMITED", 0) > 0, outcomes


def test_twelve_processes_pause_when_the_store_stops_and_draw_no_429(tmp_path: Path) -> None:
    result = crowd(tmp_path, processes=12, seconds=6, scale=0.05, stop_store_after=2.0)
    assert result["ready_together"] == 12, result
    assert result["sandbox_429s"] == 0, result
    outcomes = result["outcomes"]
    assert set(outcomes) <= ANSWERS | {PAUSED}, outcomes
    # Calls went out before the stop, and after it every process that needed Klaviyo was told why.
    assert outcomes.get("ok", 0) > 0 and outcomes.get(PAUSED, 0) > 0, outcomes

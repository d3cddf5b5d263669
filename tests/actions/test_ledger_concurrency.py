"""Real processes against one database file: exactly one executor wins every race, and many
writers never see "database is locked"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.actions import ProposalStatus, SqliteLedger
from klaviyo_analytics.storage.sqlite_db import MIGRATIONS
from tests.actions.ledger_helpers import plan_of, raw_db

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("ledger_worker.py")
REPO = Path(__file__).resolve().parents[2]
RACE_TRIALS = 40
RACERS = 4
FRESH_FILES, FRESH_OPENERS = 40, 8


class Workers:
    def __init__(self, procs: list[subprocess.Popen[str]]) -> None:
        self.procs = procs

    def all(self, cmd: dict[str, Any], lead: float = 0.05) -> list[Any]:
        """Send one command to every worker, timed to start together; collect every answer."""
        line = json.dumps({**cmd, "at": time.time() + lead}) + "\n"
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(line)
            proc.stdin.flush()
        answers = []
        for proc in self.procs:
            assert proc.stdout is not None
            answers.append(json.loads(proc.stdout.readline()))
        return answers

    def each(self, cmds: list[dict[str, Any]], lead: float = 0.05) -> list[Any]:
        """A different command per worker, all timed to start together."""
        at = time.time() + lead
        for proc, cmd in zip(self.procs, cmds, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({**cmd, "at": at}) + "\n")
            proc.stdin.flush()
        return [json.loads(proc.stdout.readline()) for proc in self.procs if proc.stdout is not None]


@contextmanager
def workers(db: Path, count: int) -> Iterator[Workers]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(db), f"worker-{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(count)
    ]
    try:
        pool = Workers(procs)
        assert pool.all({"op": "ping"}) == [{"ok": True}] * count  # every worker has imported the ledger
        yield pool
    finally:
        for proc in procs:
            _, err = proc.communicate(timeout=20)  # closes stdin: the worker's loop ends
            assert proc.returncode == 0, err


def test_exactly_one_process_wins_each_begin_execution_race(tmp_path: Path) -> None:
    db = tmp_path / "race.sqlite3"
    ledger = SqliteLedger(db)
    ids = []
    for _ in range(RACE_TRIALS):
        made = ledger.create_proposal("acme", "create_list", {}, plan_of("create"), "s", [], "mcp")
        ids.append(ledger.decide(made.id, True, "approver:alice").id)

    overlapped = 0
    with workers(db, RACERS) as pool:
        for pid in ids:
            answers = pool.all({"op": "begin", "id": pid})
            winners = [a for a in answers if a.get("ok")]
            losers = [a for a in answers if not a.get("ok")]
            assert len(winners) == 1, answers
            assert [a["error"] for a in losers] == ["ConflictError"] * (RACERS - 1), answers
            assert all("is already executing" in a["message"] for a in losers), answers
            if max(a["started"] for a in answers) < min(a["ended"] for a in answers):
                overlapped += 1  # every process was inside begin_execution at the same moment

    assert overlapped > 0, "the processes never actually overlapped; the race proves nothing"
    with raw_db(db) as conn:
        starts = conn.execute(
            "SELECT proposal_id, COUNT(*) FROM transitions WHERE to_status = 'executing' GROUP BY proposal_id"
        ).fetchall()
        assert sorted(starts) == sorted((pid, 1) for pid in ids)
        assert conn.execute("SELECT COUNT(*), MAX(attempts) FROM executions").fetchone() == (RACE_TRIALS, 1)
    print(f"\n{RACE_TRIALS} races x {RACERS} processes: one winner each; all overlapped in {overlapped}")


def test_many_processes_create_and_decide_on_a_fresh_file_without_lock_errors(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "churn.sqlite3"  # does not exist: the workers race to create it
    count, per_worker = 6, 25
    with workers(db, count) as pool:
        results = pool.all({"op": "churn", "n": per_worker})
    failures = [r for worker in results for r in worker if not r.get("ok")]
    assert failures == []
    ledger = SqliteLedger(db)
    assert ledger.ledger_health()["journal_mode"] == "wal"
    for i in range(count):
        mine = ledger.list_proposals(account=f"worker-{i}", limit=500)
        assert len(mine) == per_worker
        assert sum(p.status is ProposalStatus.APPROVED for p in mine) == (per_worker + 1) // 2
        assert sum(p.status is ProposalStatus.REJECTED for p in mine) == per_worker // 2


def test_many_processes_opening_fresh_files_together_never_fail(tmp_path: Path) -> None:
    with workers(tmp_path / "unused.sqlite3", FRESH_OPENERS) as pool:
        for n in range(FRESH_FILES):
            answers = pool.all({"op": "open", "path": str(tmp_path / f"fresh-{n}.sqlite3")}, lead=0.03)
            assert [a.get("value") for a in answers] == [len(MIGRATIONS)] * FRESH_OPENERS, answers


def test_concurrent_deciders_record_exactly_one_decision_each(tmp_path: Path) -> None:
    db = tmp_path / "decide.sqlite3"
    ledger = SqliteLedger(db)
    ids = [ledger.create_proposal("acme", "a", {}, plan_of("s"), "s", [], "mcp").id for _ in range(20)]
    count = 4
    with workers(db, count) as pool:
        # workers take the proposals in different orders, half approving and half rejecting
        results = pool.each(
            [{"op": "decide", "ids": ids if i % 2 else ids[::-1], "approve": i % 2 == 0} for i in range(count)]
        )
    in_id_order = [worker if i % 2 else worker[::-1] for i, worker in enumerate(results)]
    for n, pid in enumerate(ids):
        answers = [worker[n] for worker in in_id_order]
        assert sum(bool(a.get("ok")) for a in answers) == 1, answers
        assert all(a["error"] == "ConflictError" and "already" in a["message"] for a in answers if not a.get("ok"))
        history = ledger.get_history(pid)
        assert history.decision is not None
        assert [t.from_status for t in history.transitions].count(ProposalStatus.PENDING) == 1
        assert history.proposal.status is (
            ProposalStatus.APPROVED if history.decision.approved else ProposalStatus.REJECTED
        )

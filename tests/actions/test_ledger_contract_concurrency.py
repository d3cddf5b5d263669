"""Ledger contract, concurrency: real processes against one database (a SQLite file or a PostgreSQL
database): exactly one executor wins every race, one decision per proposal, and many writers
opening a fresh database together never fail. Every test here runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.actions import ProposalStatus, postgres_ledger
from klaviyo_analytics.storage import sqlite_db
from tests.actions.ledger_helpers import both_backends, plan_of, raw_ledger
from tests.actions.ledger_worker import open_at
from tests.servers import PostgresServer

__all__ = ["both_backends"]  # the fixture: every test here runs on SQLite and PostgreSQL

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("ledger_worker.py")
REPO = Path(__file__).resolve().parents[2]
RACE_TRIALS = 40
RACERS = 4
FRESH_FILES, FRESH_OPENERS = 40, 8
NEWEST = {"sqlite": len(sqlite_db.MIGRATIONS), "postgres": len(postgres_ledger.MIGRATIONS)}


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


@pytest.fixture
def fresh(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Where a new, empty ledger would live: a file not made yet, or a database never migrated."""
    if backend == "postgres":
        server: PostgresServer = request.getfixturevalue("pg_server")
        return lambda name: server.fresh_database("ledger")
    return lambda name: str(tmp_path / "fresh" / f"{name}.sqlite3")


@contextmanager
def workers(db: str, count: int) -> Iterator[Workers]:
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


def test_exactly_one_process_wins_each_begin_execution_race(fresh: Callable[[str], str]) -> None:
    db = fresh("race")
    ledger = open_at(db)
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
    with raw_ledger(ledger) as conn:
        starts = conn.execute(
            "SELECT proposal_id, COUNT(*) FROM transitions WHERE to_status = 'executing' GROUP BY proposal_id"
        ).fetchall()
        assert sorted(starts) == sorted((pid, 1) for pid in ids)
        assert conn.execute("SELECT COUNT(*), MAX(attempts) FROM executions").fetchone() == (RACE_TRIALS, 1)
    print(f"\n{RACE_TRIALS} races x {RACERS} processes: one winner each; all overlapped in {overlapped}")


def test_many_processes_create_and_decide_on_a_fresh_file_without_lock_errors(
    fresh: Callable[[str], str], backend: str
) -> None:
    db = fresh("churn")  # not created or migrated yet: the workers race to do it
    count, per_worker = 6, 25
    with workers(db, count) as pool:
        results = pool.all({"op": "churn", "n": per_worker})
    failures = [r for worker in results for r in worker if not r.get("ok")]
    assert failures == []
    ledger = open_at(db)
    if backend == "sqlite":
        assert ledger.ledger_health()["journal_mode"] == "wal"
    for i in range(count):
        mine = ledger.list_proposals(account=f"worker-{i}", limit=500)
        assert len(mine) == per_worker
        assert sum(p.status is ProposalStatus.APPROVED for p in mine) == (per_worker + 1) // 2
        assert sum(p.status is ProposalStatus.REJECTED for p in mine) == per_worker // 2


def test_many_processes_opening_fresh_files_together_never_fail(fresh: Callable[[str], str], backend: str) -> None:
    with workers(fresh("unused"), FRESH_OPENERS) as pool:
        for n in range(FRESH_FILES):
            answers = pool.all({"op": "open", "path": fresh(f"fresh-{n}")}, lead=0.03)
            assert [a.get("value") for a in answers] == [NEWEST[backend]] * FRESH_OPENERS, answers


def test_concurrent_deciders_record_exactly_one_decision_each(fresh: Callable[[str], str]) -> None:
    db = fresh("decide")
    ledger = open_at(db)
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

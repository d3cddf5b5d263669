"""Exactly once across real processes, against the sandbox served over HTTP: two executors racing on
one action, and an executor killed in the middle of a plan (the next one takes over after its lease
and finishes without creating anything twice)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.actions.executor import LEASE_MARGIN_SECONDS
from klaviyo_sandbox import FaultConfig, serve
from tests.actions.action_env import Env, environment
from tests.actions.ledger_helpers import both_backends

__all__ = ["both_backends"]  # the fixture: exactly once on SQLite and on PostgreSQL

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("execute_worker.py")
REPO = Path(__file__).resolve().parents[2]
RACE_TRIALS = 4
LATENCY = 1.0


@contextmanager
def workers(env: Env, base_url: str, count: int) -> Iterator[list[subprocess.Popen[str]]]:
    environ = {
        **os.environ, **environment(env.sb, env.tmp, KLAVIYO_BASE_URL=base_url, **env.extra),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }  # fmt: skip
    with (env.tmp / "workers.log").open("w") as log:
        pipes: dict[str, Any] = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": log}
        command = [sys.executable, str(WORKER)]
        procs = [subprocess.Popen([*command, f"worker-{i}"], text=True, env=environ, **pipes) for i in range(count)]
        try:
            for proc in procs:
                assert proc.stdout is not None and json.loads(proc.stdout.readline()) == {"ready": True}
            yield procs
        finally:
            for proc in procs:
                proc.kill()
                proc.wait(timeout=10)
                for pipe in (proc.stdin, proc.stdout):
                    if pipe is not None:
                        pipe.close()


def send(proc: subprocess.Popen[str], action_id: str, at: float) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"id": action_id, "at": at}) + "\n")
    proc.stdin.flush()


def answer(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    return dict(json.loads(proc.stdout.readline()))


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def posts(env: Env, path: str) -> list[dict[str, Any]]:
    return [e for e in env.sb.log() if e["method"] == "POST" and e["path"] == path]


def test_two_processes_racing_on_one_action_run_it_once(env: Env) -> None:
    with serve(env.sb) as base_url, workers(env, base_url, 2) as procs:
        for trial in range(RACE_TRIALS):
            action_id = env.propose("seed_demo_profiles", count=2, new_list_name=f"Race {trial}")
            env.approve(action_id)
            at = time.time() + 0.1
            for proc in procs:
                send(proc, action_id, at)
            answers = [answer(proc) for proc in procs]
            winners = [a for a in answers if a.get("ok")]
            losers = [a for a in answers if not a.get("ok")]
            assert len(winners) == 1 and winners[0]["status"] == "succeeded", answers
            assert [a["error"] for a in losers] == ["CONFLICT"], answers
    state = env.created()
    assert len(state["lists"]) == RACE_TRIALS and len(posts(env, "/api/lists")) == RACE_TRIALS
    assert len(state["profiles"]) == 2 * RACE_TRIALS and len(posts(env, "/api/profile-import")) == 2 * RACE_TRIALS
    assert len(state["list_membership_changes"]) == RACE_TRIALS


@pytest.mark.parametrize(
    ("in_flight", "path"), [("create_list", "/api/lists"), ("import_profile_2", "/api/profile-import")]
)
def test_an_executor_killed_mid_plan_is_taken_over_without_duplicates(env: Env, in_flight: str, path: str) -> None:
    action_id = env.propose("seed_demo_profiles", count=3, new_list_name=f"Killed during {in_flight}")
    env.approve(action_id)
    slow = FaultConfig(latency=1.0, latency_seconds=LATENCY, only_methods=frozenset({"POST"}), only_paths=(path,))
    env.sb.set_faults(slow)

    def sent() -> bool:
        execution = env.ledger.get_execution(action_id)
        return execution is not None and any(
            e.step_id == in_flight and e.status == "started" for e in execution.journal
        )

    with serve(env.sb) as base_url:
        with workers(env, base_url, 1) as (proc,):
            send(proc, action_id, time.time())
            wait_for(sent)  # journaled "started" just before sending; give the request time to go out
            time.sleep(LATENCY / 3)
            proc.kill()  # mid-request: Klaviyo (the sandbox) is still working on the call it sent
            proc.wait(timeout=10)
        landed = 1 if in_flight == "create_list" else 2
        wait_for(lambda: len([e for e in posts(env, path) if e["status"] is not None]) >= landed)
    env.sb.set_faults(None)
    assert env.ledger.get_proposal(action_id).status.value == "executing"  # nobody finished it

    # The dead executor's lease must run out before anyone may take over.
    early = env.error("klaviyo_execute_action", action_id=action_id)
    assert early.code == "CONFLICT" and "already executing" in early.message
    env.clock.offset = timedelta(seconds=env.settings.tool_deadline_seconds + LEASE_MARGIN_SECONDS + 1)
    resumed = env.call("klaviyo_execute_action", action_id=action_id)["data"]
    assert resumed["status"] == "succeeded"
    assert any("took over" in (h["note"] or "") for h in resumed["history"])

    state = env.created()
    created = resumed["created"]
    assert [item["id"] for item in state["lists"]] == [created["create_list"]["id"]]
    assert len(posts(env, "/api/lists")) == 1  # the in-flight create was found, never sent again
    profile_ids = [created[f"import_profile_{i}"]["id"] for i in (1, 2, 3)]
    assert [p["id"] for p in state["profiles"]] == profile_ids  # upserts: a repeat updates, never duplicates
    assert [(m["list_id"], m["profile_ids"]) for m in state["list_membership_changes"]] == [
        (created["create_list"]["id"], profile_ids)
    ]
    if in_flight == "create_list":
        assert created["create_list"]["found_existing"] is True

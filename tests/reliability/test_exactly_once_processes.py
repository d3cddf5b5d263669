"""Exactly once across the processes of a real deployment: two gunicorn workers and the MCP
server (server.py over stdio) share one ledger, with the Klaviyo sandbox served on loopback.

A person approves every action through REST with an approver token. Then:

(a) the two REST workers and the MCP process execute one approved action at the same instant,
    N times: exactly one execution each, the others CONFLICT;
(b) the process executing a plan is SIGKILLed while a latency fault holds a create in flight (the
    create lands after the kill); another process resumes the plan once the lease has run out;
(c) Klaviyo applies a create and answers 500 (``applied_error``).

After each: no object is duplicated in the sandbox (lists, segments, campaigns, templates counted
by name) and every trial is accounted for in the ledger.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
import pytest

from klaviyo_analytics.actions import utc_now
from klaviyo_sandbox import FaultConfig, Sandbox, SandboxConfig
from tests.reliability.cluster import REST_TOKEN, Cluster, cluster, wait_for
from tests.reliability.harness import figures

pytestmark = pytest.mark.slow

RACE_TRIALS = 21
DEADLINE = 5.0  # KLAVIYO_MCP_TOOL_DEADLINE_SECONDS of every process: the lease is this + 30 s
HELD = 2.0  # seconds Klaviyo holds each create in the kill test
# "started" is journaled just before the create is sent: give the request this long to go out
# (it is then held HELD seconds in Klaviyo, so the kill still lands mid-create).
SENT = 0.5
CREATES = ("/api/lists", "/api/segments", "/api/templates", "/api/campaigns", "/api/campaign-message-assign-template")
FIGURES: dict[str, list[str]] = {}


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    return Sandbox(SandboxConfig(time_scale=0.01))  # real time: the executor compares created timestamps


@pytest.fixture(scope="module")
def node(sb: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(sb, tmp_path_factory.mktemp("cluster"), KLAVIYO_MCP_TOOL_DEADLINE_SECONDS=str(DEADLINE)) as started:
        yield started


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    if FIGURES:
        lines = ["Two gunicorn workers + server.py over stdio, one SQLite ledger, sandbox on loopback.", ""]
        lines += ["| scenario | trials | outcome | duplicates in Klaviyo | ledger |", "|---|---|---|---|---|"]
        lines += [row for _, rows in sorted(FIGURES.items()) for row in rows]
        figures("Exactly once across processes", lines)


def args_for(sb: Sandbox, recipe: str, label: str) -> dict[str, Any]:
    if recipe == "create_list":
        return {"account": "acme", "name": f"{label} list"}
    if recipe == "segment":
        return {"account": "acme", "recipe": "vip", "name": f"{label} segment"}
    audience = next(iter(sb.store.accounts["acme"].lists))
    return {"account": "acme", "name": f"{label} campaign", "audience_id": audience, "subject": "Hi",
            "template_html": "<p>hi</p>"}  # fmt: skip


RECIPES = ("create_list", "segment", "campaign_draft")


def propose(node: Cluster, recipe: str, label: str) -> str:
    structured, _, is_error = mcp(node).call(f"klaviyo_propose_{recipe}", **args_for(node.sb, recipe, label))
    assert not is_error, structured
    action_id = str(structured["data"]["action_id"])
    node.approve(action_id)
    return action_id


def mcp(node: Cluster) -> Any:
    return node.mcp if node.mcp is not None else node.start_mcp()


def names(sb: Sandbox) -> Counter[tuple[str, str]]:
    """Objects created in the sandbox, by kind and name."""
    kinds = sb.state()["accounts"]["acme"]
    return Counter(
        (kind, item["name"]) for kind in ("lists", "segments", "campaigns", "templates") for item in kinds[kind]
    )


def expected_names(recipe: str, label: str) -> list[tuple[str, str]]:
    if recipe == "create_list":
        return [("lists", f"{label} list")]
    if recipe == "segment":
        return [("segments", f"{label} segment")]
    campaign = f"{label} campaign"
    return [
        ("campaigns", campaign),
        ("templates", f"{campaign} (template)"),
        ("templates", f"{campaign} (template) (copy)"),
    ]


def check_no_duplicates(sb: Sandbox, trials: list[tuple[str, str]]) -> int:
    created = names(sb)
    wanted = [name for recipe, label in trials for name in expected_names(recipe, label)]
    assert {name: created[name] for name in wanted} == dict.fromkeys(wanted, 1)
    return sum(created[name] for name in wanted)


def statuses(node: Cluster, action_ids: list[str]) -> Counter[str]:
    ledger = node.ledger()
    return Counter(ledger.get_proposal(action_id).status.value for action_id in action_ids)


def execute_over_rest(node: Cluster, action_id: str, http: httpx.Client | None = None) -> tuple[str, str]:
    path = f"/v1/actions/{action_id}/execute"
    response = http.post(path) if http is not None else node.rest("POST", path)
    body = response.json()
    if response.status_code == 200:
        return "rest", body["data"]["status"]
    return "rest", body["error"]["code"]


def execute_over_mcp(node: Cluster, action_id: str) -> tuple[str, str]:
    structured, text, is_error = mcp(node).call("klaviyo_execute_action", action_id=action_id)
    assert "Traceback" not in text
    return "mcp", structured["error"]["code"] if is_error else structured["data"]["status"]


def race(node: Cluster, action_id: str, executes: list[Any]) -> list[tuple[str, str]]:
    """Every execute released at the same instant, each from its own thread."""
    barrier = threading.Barrier(len(executes))
    answers: list[tuple[str, str]] = []

    def run(execute: Any) -> None:
        barrier.wait()
        time.sleep(random.uniform(0, 0.02))  # so no transport is always first off the mark
        answers.append(execute(node, action_id))

    threads = [threading.Thread(target=run, args=(execute,)) for execute in executes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_concurrent_executes_from_both_workers_and_the_mcp_process_run_each_action_once(node: Cluster) -> None:
    started = time.monotonic()
    # Each create waits 0.2 s in Klaviyo: the race stays open while the winner works.
    node.sb.set_faults(
        FaultConfig(latency=1.0, latency_seconds=0.2, only_methods=frozenset({"POST"}), only_paths=CREATES)
    )
    trials, action_ids, outcomes = [], [], Counter[str]()
    headers = {"Authorization": f"Bearer {REST_TOKEN}"}
    # One client per REST racer, made beforehand: building one costs more than the race window.
    clients = [httpx.Client(base_url=node.rest_url, headers=headers, timeout=60) for _ in range(2)]
    try:
        for n in range(RACE_TRIALS):
            recipe, label = RECIPES[n % len(RECIPES)], f"Race {n}"
            action_id = propose(node, recipe, label)
            rest_a, rest_b = (partial(execute_over_rest, http=client) for client in clients)
            answers = race(node, action_id, [rest_a, rest_b, execute_over_mcp])
            assert sorted(a[1] for a in answers) == ["CONFLICT", "CONFLICT", "succeeded"], answers
            outcomes.update(f"{via}: {what}" for via, what in answers)
            trials.append((recipe, label))
            action_ids.append(action_id)
    finally:
        node.sb.set_faults(None)
        for client in clients:
            client.close()
    objects = check_no_duplicates(node.sb, trials)
    assert statuses(node, action_ids) == {"succeeded": RACE_TRIALS}
    executions = [node.ledger().get_execution(a) for a in action_ids]
    assert all(e is not None and e.attempts == 1 for e in executions)
    workers = node.access_pids("/execute")
    assert len(workers) >= 2, f"only gunicorn worker(s) {workers} executed: the race did not span both"
    shown = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    FIGURES["a"] = [
        f"| (a) 3 executes at once (REST worker ×2 + MCP), {len(workers)} worker pids seen | {RACE_TRIALS} | "
        f"{shown} | 0 of {objects} objects | {RACE_TRIALS} succeeded, 1 attempt each; {time.monotonic() - started:.1f} s |"
    ]


# Runs before (b): the executors (b) kills leave their create_segment sends in flight in the shared
# quota store until the flight expiry (request timeout + 5 s), and the burst window spaces from them.
def test_a_create_applied_but_answered_500_is_found_not_repeated(node: Cluster) -> None:
    started = time.monotonic()
    trials, action_ids = [], []
    for n, recipe in enumerate(RECIPES * 2):
        label = f"Applied {n}"
        action_ids.append(propose(node, recipe, label))
        trials.append((recipe, label))
    node.sb.set_faults(FaultConfig(applied_error=1.0, only_methods=frozenset({"POST"}), only_paths=CREATES))
    try:
        answers = [(execute_over_rest if n % 2 else execute_over_mcp)(node, a) for n, a in enumerate(action_ids)]
    finally:
        node.sb.set_faults(None)
    assert [status for _, status in answers] == ["succeeded"] * len(action_ids), answers
    ledger = node.ledger()
    for action_id in action_ids:
        created = ledger.get_execution(action_id).created  # type: ignore[union-attr]
        assert all(step.get("found_existing") for step in created.values()), created
    objects = check_no_duplicates(node.sb, trials)
    assert statuses(node, action_ids) == {"succeeded": len(action_ids)}
    FIGURES["c"] = [
        f"| (c) every create applied, answered 500 (3 recipes × REST and MCP) | {len(action_ids)} | "
        f"{len(action_ids)} succeeded, every create found by its check | 0 of {objects} objects | "
        f"{len(action_ids)} succeeded; {time.monotonic() - started:.1f} s |"
    ]


def test_an_executor_killed_mid_create_is_resumed_by_another_process_without_duplicates(node: Cluster) -> None:
    started = time.monotonic()
    labels = {recipe: f"Killed {recipe}" for recipe in RECIPES}
    over_rest = {recipe: propose(node, recipe, labels[recipe]) for recipe in ("create_list", "segment")}
    over_mcp = propose(node, "campaign_draft", labels["campaign_draft"])
    ledger = node.ledger()

    def in_flight(action_id: str) -> bool:
        execution = ledger.get_execution(action_id)
        return execution is not None and any(e.status == "started" for e in execution.journal)

    # Klaviyo holds each create 2 s, then applies it: the executors are killed while they wait.
    node.sb.set_faults(
        FaultConfig(latency=1.0, latency_seconds=HELD, only_methods=frozenset({"POST"}), only_paths=CREATES)
    )
    posts_before = len([e for e in node.sb.log() if e["method"] == "POST"])
    threads = [threading.Thread(target=execute_quietly, args=(node, a)) for a in over_rest.values()]
    for thread in threads:
        thread.start()
    wait_for(lambda: all(in_flight(a) for a in over_rest.values()), what="both REST executions in flight")
    workers = {pid for a in over_rest.values() for pid in node.worker_of("POST", f"/v1/actions/{a}/execute")}
    assert len(workers) == 2, workers  # one worker each: both are killed mid-create
    time.sleep(SENT)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    mcp_server = node.mcp_pid()
    mcp_thread = threading.Thread(target=execute_quietly, args=(node, over_mcp, "mcp"))
    mcp_thread.start()
    wait_for(lambda: in_flight(over_mcp), what="the MCP execution in flight")
    time.sleep(SENT)
    os.kill(mcp_server, signal.SIGKILL)
    for thread in [*threads, mcp_thread]:
        thread.join(timeout=30)
    node.mcp.stop()  # type: ignore[union-attr]
    node.mcp = None
    # The creates the dead executors sent still land.
    wait_for(lambda: len([e for e in node.sb.log() if e["method"] == "POST" and e["status"]]) >= posts_before + 3,
             what="the in-flight creates to land")  # fmt: skip
    node.sb.set_faults(None)
    killed = [*over_rest.values(), over_mcp]
    assert statuses(node, killed) == {"executing": 3}  # nobody finished them

    # Another process may take over only once the dead one's lease has run out.
    node.wait_for_workers(2)  # gunicorn replaced the killed workers
    assert execute_over_rest(node, over_mcp) == ("rest", "CONFLICT")
    leases = [ledger.get_execution(a).lease_expires_at for a in killed]  # type: ignore[union-attr]
    assert all(lease and lease > utc_now() + timedelta(seconds=DEADLINE) for lease in leases), leases
    node.run_out_leases(killed)  # the lease's wait, skipped (the ledger contract tests move its clock)
    resumed = [execute_over_mcp(node, a) for a in over_rest.values()] + [execute_over_rest(node, over_mcp)]
    assert [status for _, status in resumed] == ["succeeded"] * 3, resumed
    for action_id in killed:
        history = ledger.get_history(action_id)
        assert any("took over" in (t.note or "") for t in history.transitions)
        first = ledger.get_execution(action_id).journal[0]  # type: ignore[union-attr]
        assert first.status == "started"
        created = ledger.get_execution(action_id).created  # type: ignore[union-attr]
        assert created[first.step_id].get("found_existing") is True  # found after the kill, not sent again
    trials = [(recipe, labels[recipe]) for recipe in RECIPES]
    objects = check_no_duplicates(node.sb, trials)
    FIGURES["b"] = [
        f"| (b) SIGKILL mid-create (2 gunicorn workers, 1 server.py); resumed by the other transport after the "
        f"{DEADLINE + 30:g} s lease ran out (moved forward in the ledger) | 3 | 3 resumed, 3 in-flight creates found (not re-sent); an early takeover "
        f"refused (CONFLICT) | 0 of {objects} objects | 3 succeeded; {time.monotonic() - started:.1f} s |"
    ]


def execute_quietly(node: Cluster, action_id: str, via: str = "rest") -> None:
    """An execute whose executor is about to be killed: its answer (a dropped connection) is moot."""
    with contextlib.suppress(Exception):  # the process serving it dies mid-call, by design
        (execute_over_mcp if via == "mcp" else execute_over_rest)(node, action_id)

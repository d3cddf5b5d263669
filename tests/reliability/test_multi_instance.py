"""Two instances of the team server, as two machines would run them: each its own gunicorn (2 workers)
with its own home, config and data directories, sharing nothing but one Redis (quotas, cache, REST
rate counts) and one PostgreSQL database (the action ledger), and one KLAVIYO_MCP_APPROVAL_SECRET.

(a) Proposed on one instance, approved on the other, then executed by two clients of each at the
    same instant: exactly one execution per action, every other answer CONFLICT, nothing created
    twice in Klaviyo (the sandbox).
(b) Both instances ask report questions of one account as fast as they can for a bounded time:
    Klaviyo (the sandbox) serves 0 429s; every call is answered or refused with RATE_LIMITED.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
import pytest

from bench.quota_hammer import outcome_of_error, questions
from klaviyo_analytics.tools import get_tool
from klaviyo_sandbox import FaultConfig, Sandbox, SandboxConfig
from tests.reliability.cluster import Cluster, cluster
from tests.reliability.harness import figures
from tests.reliability.test_exactly_once_processes import (
    CREATES,
    RECIPES,
    args_for,
    check_no_duplicates,
    execute_over_rest,
    race,
)
from tests.servers import PostgresServer

# (b) is a 0-429 promise timed against the sandbox's real windows: run alone (make test's serial pass).
pytestmark = [pytest.mark.slow, pytest.mark.serial]

SCALE = 0.05  # Klaviyo's windows, scaled on both sides: 1/s becomes 1 per 50 ms
RACE_TRIALS = 6
HAMMER_SECONDS = 8.0
KLAVIYO_MCP_APPROVAL_SECRET = "approval-secret-shared-by-both-instances-0001"
# The test server trusts loopback, so any password connects: it is there to be looked for in the logs.
DB_PASSWORD = "ledger-db-password-multi-0001"


@pytest.fixture(scope="module")
def instances(
    tmp_path_factory: pytest.TempPathFactory, redis_database: Callable[[], str], pg_server: PostgresServer
) -> Iterator[tuple[Sandbox, Cluster, Cluster]]:
    directory = tmp_path_factory.mktemp("instances")
    sb = Sandbox(SandboxConfig(time_scale=SCALE))  # real time: the executor compares created timestamps
    # The run's Redis and PostgreSQL (tests/conftest.py), with a database of each that only this module uses.
    redis_url = redis_database()
    shared = {
        "KLAVIYO_MCP_QUOTA_STORE": redis_url,
        "KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE": redis_url,
        "KLAVIYO_MCP_LEDGER_URL": pg_server.fresh_database("ledger").replace(
            "://klaviyo@", f"://klaviyo:{DB_PASSWORD}@", 1
        ),
        "KLAVIYO_MCP_APPROVAL_SECRET": KLAVIYO_MCP_APPROVAL_SECRET,
        "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": repr(SCALE),
        "KLAVIYO_MCP_TOOL_DEADLINE_SECONDS": "5",
    }
    with (
        cluster(sb, directory / "host-a", with_mcp=False, **shared) as a,
        cluster(sb, directory / "host-b", with_mcp=False, **shared) as b,
    ):
        yield sb, a, b
        logs = [path for node in (a, b) for path in node.log_files()]
    assert logs
    for path in logs:  # the database password and the approval key are in no log line
        text = path.read_text(errors="replace")
        assert DB_PASSWORD not in text and KLAVIYO_MCP_APPROVAL_SECRET not in text, path
    # Neither machine kept a ledger or quota file of its own: all of it was in the shared servers.
    assert not [p.name for p in directory.glob("host-*/**/*.sqlite3")]


def call(http: httpx.Client, name: str, args: dict[str, Any]) -> httpx.Response:
    spec = get_tool(name)
    if spec.method == "GET":
        return http.get(spec.path, params=args)
    return http.post(spec.path, json=args)


def clients(node: Cluster, token: str, count: int) -> list[httpx.Client]:
    headers = {"Authorization": f"Bearer {token}"}
    return [httpx.Client(base_url=node.rest_url, headers=headers, timeout=60) for _ in range(count)]


def test_an_action_proposed_on_one_instance_and_raced_on_both_runs_once(
    instances: tuple[Sandbox, Cluster, Cluster],
) -> None:
    sb, a, b = instances
    sb.set_faults(FaultConfig(latency=1.0, latency_seconds=0.2, only_methods=frozenset({"POST"}), only_paths=CREATES))
    proposer, approver = clients(a, a.rest_token, 1)[0], clients(b, b.approver_token, 1)[0]
    executors = clients(a, a.rest_token, 2) + clients(b, b.rest_token, 2)
    trials, outcomes = [], Counter[str]()
    try:
        for n in range(RACE_TRIALS):
            recipe, label = RECIPES[n % len(RECIPES)], f"Two hosts {n}"
            proposed = call(proposer, f"klaviyo_propose_{recipe}", args_for(sb, recipe, label))
            assert proposed.status_code == 200, proposed.text
            action_id = proposed.json()["data"]["action_id"]
            shown = proposed.json()["data"]["plan_hash"]
            approved = approver.post(
                f"/v1/actions/{action_id}/approve", json={"reason": "reviewed", "plan_hash": shown}
            )
            assert approved.status_code == 200, approved.text  # host B reads host A's proposal
            answers = [what for _, what in race(a, action_id, [partial(execute_over_rest, http=h) for h in executors])]
            assert sorted(answers) == ["CONFLICT", "CONFLICT", "CONFLICT", "succeeded"], answers
            outcomes.update(answers)
            execution = a.ledger().get_execution(action_id)
            assert execution is not None and execution.attempts == 1
            trials.append((recipe, label))
    finally:
        sb.set_faults(None)
        for http in [proposer, approver, *executors]:
            http.close()
    objects = check_no_duplicates(sb, trials)
    assert a.access_pids("/execute") and b.access_pids("/execute"), "both instances executed"
    figures(
        "Two instances, one Redis, one PostgreSQL ledger",
        [
            "| scenario | trials | outcome | duplicates in Klaviyo |",
            "|---|---|---|---|",
            f"| proposed on A, approved on B, 4 executes at once (2 per instance) | {RACE_TRIALS} | "
            f"{outcomes['succeeded']} succeeded, {outcomes['CONFLICT']} CONFLICT | 0 of {objects} objects |",
        ],
    )


def test_two_instances_on_one_account_draw_no_429(instances: tuple[Sandbox, Cluster, Cluster]) -> None:
    sb, a, b = instances
    before = sb.state()["rate_limited"]
    stop = time.monotonic() + HAMMER_SECONDS
    outcomes: dict[str, Counter[str]] = {"A": Counter(), "B": Counter()}

    def hammer(side: str, http: httpx.Client, seed: int) -> None:
        for name, args in questions(seed):
            if time.monotonic() >= stop:
                return
            response = call(http, name, args)
            key = "ok" if response.status_code == 200 else outcome_of_error(json.dumps(response.json()))
            outcomes[side][key] += 1

    pool = [("A", http, seed) for seed, http in enumerate(clients(a, a.rest_token, 2))]
    pool += [("B", http, seed + 10) for seed, http in enumerate(clients(b, b.rest_token, 2))]
    threads = [threading.Thread(target=hammer, args=job) for job in pool]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=HAMMER_SECONDS + 30)
    for _, http, _ in pool:
        http.close()
    throttled = [e for e in sb.log() if e["status"] == 429]
    assert sb.state()["rate_limited"] == before, f"Klaviyo (the sandbox) served 429s: {throttled}"
    for side, counted in outcomes.items():
        assert set(counted) <= {"ok", "RATE_LIMITED"}, (side, counted)
        assert counted["ok"] > 0, (side, counted)
    assert sum(c["RATE_LIMITED"] for c in outcomes.values()) > 0, "the run never reached the limit"
    shown = "; ".join(f"{side}: {dict(c)}" for side, c in outcomes.items())
    figures(
        "Two instances on one account's report quota",
        [f"{HAMMER_SECONDS:.0f} s at time scale {SCALE}, 2 clients per instance: 0 429s from Klaviyo; {shown}", ""],
    )


def test_the_shared_servers_hold_the_state(instances: tuple[Sandbox, Cluster, Cluster]) -> None:
    _, a, b = instances
    for node in (a, b):
        health = node.rest("GET", "/health/details", node.approver_token).json()
        shown = json.dumps(health)
        assert "postgresql" in shown and "redis" in shown, health
        assert "@127.0.0.1" not in shown and DB_PASSWORD not in shown  # /health is public: no URL at all

"""A separate process for the concurrency tests: one JSON command per stdin line, one JSON
answer per stdout line. Each command carries a wall-clock instant ``at``; every worker waits for
it, so the processes hit the ledger together. Each command opens its own ledger, so opening a fresh
file or database (WAL switch, schema creation, migration) races too. The location is a SQLite path
or a PostgreSQL URL: the concurrency contract runs on both backends.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from klaviyo_analytics.actions import SqliteLedger
from klaviyo_analytics.actions.postgres_ledger import PostgresLedger
from klaviyo_analytics.errors import KlaviyoMCPError

PLAN = [{"step_id": "create", "method": "POST", "path": "/api/lists/", "body": {}}]


def open_at(location: str) -> SqliteLedger:
    if location.startswith("postgresql://"):
        return PostgresLedger(location)
    return SqliteLedger(Path(location))


def wait_until(at: float) -> None:
    if (gap := at - time.time()) > 0.002:
        time.sleep(gap - 0.002)
    while time.time() < at:  # spin the last moment: sleep() wakes too unevenly to line processes up
        pass


def outcome(call: Any) -> dict[str, Any]:
    started = time.time()
    try:
        value = call()
    except KlaviyoMCPError as exc:
        answer: dict[str, Any] = {"error": type(exc).__name__, "message": exc.message}
    else:
        answer = {"ok": True, "value": value}
    return {**answer, "started": started, "ended": time.time()}


def run(db: str, name: str, cmd: dict[str, Any]) -> Any:
    op = cmd["op"]
    if op == "ping":
        return {"ok": True}
    wait_until(cmd["at"])
    if op == "open":
        return outcome(lambda: open_at(cmd["path"]).ledger_health()["schema_version"])
    if op == "begin":
        return outcome(lambda: open_at(db).begin_execution(cmd["id"], name, 30).lease_owner)
    if op == "decide":
        ledger = open_at(db)
        return [outcome(lambda pid=pid: ledger.decide(pid, cmd["approve"], name).status) for pid in cmd["ids"]]
    if op == "churn":  # create, list and decide proposals of our own, from a cold start
        results = [outcome(lambda: open_at(db).ledger_health()["schema_version"])]
        ledger = open_at(db)
        for i in range(cmd["n"]):
            made = outcome(lambda i=i: ledger.create_proposal(name, "create_list", {"i": i}, PLAN, "s", [], name).id)
            results.append(made)
            if made.get("ok"):
                results.append(outcome(lambda pid=made["value"], i=i: ledger.decide(pid, i % 2 == 0, name).status))
            results.append(outcome(lambda: len(ledger.list_proposals(account=name, limit=500))))
        return results
    raise ValueError(op)


def main() -> None:
    db, name = sys.argv[1], sys.argv[2]
    for line in sys.stdin:
        sys.stdout.write(json.dumps(run(db, name, json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

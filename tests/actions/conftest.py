"""Fixtures: the ledger alone (a movable clock, a fresh database, proposals in each state), and the
whole product on the Klaviyo sandbox (``env``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.actions import ExecutionHandle, Proposal, SqliteLedger
from klaviyo_analytics.actions.postgres_ledger import PostgresLedger
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.actions.action_env import Env, settings_for
from tests.actions.ledger_helpers import FakeClock, plan_of
from tests.servers import PostgresServer


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    # Real time (no anchor): the executor compares Klaviyo's created timestamps with its own clock.
    return Sandbox(SandboxConfig(time_scale=0.01))


@pytest.fixture
def sb(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.reset()
    sandbox.set_faults(None)
    yield sandbox
    # Whatever a test did, nothing ever reached a send job or set a flow live.
    state = sandbox.state()
    assert state["send_job_attempts"] == []
    assert not [c for c in state["accounts"]["acme"]["flow_status_changes"] if c["status"] == "live"]
    assert not [e for e in sandbox.log() if e["path"].startswith("/api/campaign-send-jobs")]


@pytest.fixture
def env(sb: Sandbox, tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Env:
    extra = {"KLAVIYO_MCP_LEDGER_URL": request.getfixturevalue("pg_url")} if backend == "postgres" else {}
    return Env(sb, tmp_path, settings_for(sb, tmp_path, **extra), extra)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "ledger" / "actions.sqlite3"  # parents do not exist yet


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A fresh database on the session's PostgreSQL server, for one test."""
    server: PostgresServer = request.getfixturevalue("pg_server")  # the session's: tests/conftest.py
    return server.fresh_database()


@pytest.fixture
def backend() -> str:
    """The ledger backend; a module about ledger behaviour overrides this with both."""
    return "sqlite"


@pytest.fixture
def ledger(backend: str, db_path: Path, clock: FakeClock, request: pytest.FixtureRequest) -> SqliteLedger:
    if backend == "postgres":
        return PostgresLedger(request.getfixturevalue("pg_url"), clock)
    return SqliteLedger(db_path, clock)


@pytest.fixture
def reopen(ledger: SqliteLedger, clock: FakeClock) -> Callable[..., SqliteLedger]:
    """Another ledger object of the same backend on the same storage (another process's view)."""

    def make(clock: Callable[[], datetime] = clock, **kwargs: Any) -> SqliteLedger:
        if isinstance(ledger, PostgresLedger):
            return PostgresLedger(ledger.db.url, clock, **kwargs)  # type: ignore[attr-defined]
        return SqliteLedger(ledger.path, clock, **kwargs)

    return make


@pytest.fixture
def propose(ledger: SqliteLedger) -> Callable[..., Proposal]:
    def make(*step_ids: str, account: str = "acme", **kwargs: Any) -> Proposal:
        return ledger.create_proposal(
            account=account,
            action="create_list",
            params={"name": "VIP"},
            plan=plan_of(*(step_ids or ("create", "add_profiles"))),
            summary="Create the list VIP and add 3 profiles",
            warnings=["3 profiles will be added"],
            proposed_by="mcp",
            **kwargs,
        )

    return make


@pytest.fixture
def approved(ledger: SqliteLedger, propose: Callable[..., Proposal]) -> Proposal:
    return ledger.decide(propose().id, approve=True, approver="approver:alice", reason="looks right")


@pytest.fixture
def running(ledger: SqliteLedger, approved: Proposal) -> ExecutionHandle:
    return ledger.begin_execution(approved.id, executor="cli:alice", lease_seconds=60)


@pytest.fixture(autouse=True)
def private_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-user config dir (where the approval key file is made) is the test's own; worker
    processes inherit it through the environment, so they sign and verify with the same key."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    return tmp_path / "xdg-config" / "klaviyo-mcp"

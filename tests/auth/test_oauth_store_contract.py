"""OAuth store contract: what every ``OAuthStore`` backend does, run on SQLite and a real PostgreSQL.

Clients and the purge of unused ones, pending logins, single-use codes, grants and their revocation,
rotated refresh tokens, console sessions, expiry at the instant, one winner per race, nothing secret
stored as itself, and a second store object on the same storage seeing the same state.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from klaviyo_analytics.auth.oauth_interface import OAuthStore
from klaviyo_analytics.auth.oauth_pg import SCHEMA_NAME, PostgresOAuthStore
from klaviyo_analytics.auth.oauth_store import Grant, SqliteOAuthStore
from klaviyo_analytics.clock import ManualClock
from tests.servers import PostgresServer

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TABLES = ("clients", "pending", "codes", "grants", "refresh_tokens", "console_sessions")
Reopen = Callable[[], OAuthStore]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(params=["sqlite", "postgres"])
def oauth_backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store lives: a SQLite file path or a fresh PostgreSQL database's URL."""
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("pg_server")  # the session's: tests/conftest.py
        return server.fresh_database("oauth")
    return str(tmp_path / "state" / "oauth.sqlite3")  # the parent does not exist yet


@pytest.fixture
def reopen(oauth_backend: str, clock: ManualClock) -> Reopen:
    """A new store object on the same storage (another process's view), reading ``clock``."""

    def make() -> OAuthStore:
        store: OAuthStore
        if oauth_backend.startswith("postgresql://"):
            store = PostgresOAuthStore(oauth_backend)
        else:
            store = SqliteOAuthStore(Path(oauth_backend))
        store.clock = clock
        return store

    return make


@pytest.fixture
def store(reopen: Reopen) -> OAuthStore:
    return reopen()


def stored_text(oauth_backend: str) -> str:
    """Every row of every table, as text: what someone reading the database would see."""
    rows: list[Any] = []
    if oauth_backend.startswith("postgresql://"):
        with psycopg.connect(oauth_backend, options=f"-c search_path={SCHEMA_NAME}") as conn:
            for table in TABLES:
                rows += conn.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608
    else:
        with closing(sqlite3.connect(oauth_backend)) as conn:
            for table in TABLES:
                rows += conn.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608
    return repr(rows)


def grant(grant_id: str = "g1", client_id: str = "c1", expires_in: float = 3600, **kw: Any) -> Grant:
    fields: dict[str, Any] = {"subject": "ann", "scopes": ["read", "propose"], "resource": "https://mcp.test/mcp"}
    return Grant(grant_id, client_id, expires_at=START.timestamp() + expires_in, **{**fields, **kw})


# -- clients ----------------------------------------------------------------------------------------


def test_a_client_round_trips_and_an_unknown_one_is_none(store: OAuthStore) -> None:
    metadata = {"client_name": "Claude", "redirect_uris": ["https://claude.ai/cb"], "scope": "read", "n": 1}
    store.put_client("c1", metadata)
    assert store.get_client("c1") == metadata
    assert store.get_client("c2") is None


def test_only_old_clients_that_never_got_a_grant_are_purged(store: OAuthStore, clock: ManualClock) -> None:
    store.put_client("abandoned", {})
    store.put_client("used", {})
    store.put_grant(grant("g1", "used"))
    clock.advance(100)
    store.put_client("new", {})
    assert store.purge_unused_clients(registered_before=clock.shared_time() - 50) == 1
    assert store.get_client("abandoned") is None
    assert store.get_client("used") == {} and store.get_client("new") == {}
    assert store.purge_unused_clients(registered_before=clock.shared_time() - 50) == 0


# -- pending logins ---------------------------------------------------------------------------------


def test_a_pending_login_is_read_until_taken_once(store: OAuthStore) -> None:
    params = {"redirect_uri": "https://claude.ai/cb", "state": "xyz", "scopes": ["read"]}
    login_id = store.put_pending("c1", params, ttl=600)
    assert login_id != store.put_pending("c1", params, ttl=600)  # a new random id each time
    assert store.get_pending(login_id) == ("c1", params)
    assert store.get_pending(login_id) == ("c1", params)  # reading does not consume
    assert store.take_pending(login_id) == ("c1", params)
    assert store.take_pending(login_id) is None
    assert store.get_pending(login_id) is None
    assert store.get_pending("never-issued") is None


def test_a_pending_login_lives_until_its_expiry_instant(store: OAuthStore, clock: ManualClock) -> None:
    login_id = store.put_pending("c1", {}, ttl=600)
    clock.advance(600)
    assert store.get_pending(login_id) == ("c1", {})
    clock.advance(0.5)
    assert store.get_pending(login_id) is None
    assert store.take_pending(login_id) is None


# -- authorization codes ----------------------------------------------------------------------------


def test_a_code_is_single_use(store: OAuthStore) -> None:
    expires_at = START.timestamp() + 60
    store.put_code("code-1", "c1", {"subject": "ann", "scopes": ["read"]}, expires_at)
    assert store.get_code("code-1") == ({"subject": "ann", "scopes": ["read"]}, expires_at)
    assert store.take_code("code-1") is True
    assert store.take_code("code-1") is False
    assert store.get_code("code-1") is None
    assert store.get_code("never-issued") is None and store.take_code("never-issued") is False


def test_a_code_expires_for_reading_and_taking(store: OAuthStore, clock: ManualClock) -> None:
    store.put_code("code-1", "c1", {}, START.timestamp() + 60)
    store.put_code("code-2", "c1", {}, START.timestamp() + 60)
    clock.advance(60)
    assert store.get_code("code-1") is not None  # alive at the instant itself
    clock.advance(0.5)
    assert store.get_code("code-1") is None
    assert store.take_code("code-2") is False  # the lifetime holds for the exchange too


def test_exactly_one_of_many_concurrent_takers_gets_a_code(store: OAuthStore) -> None:
    store.put_code("code-1", "c1", {}, START.timestamp() + 60)
    assert sum(race(lambda: store.take_code("code-1"))) == 1


# -- grants -----------------------------------------------------------------------------------------


def test_a_grant_round_trips_with_its_scopes_and_resource(store: OAuthStore) -> None:
    store.put_grant(grant("g1"))
    store.put_grant(grant("g2", scopes=[], resource=None))
    assert store.live_grant("g1") == grant("g1")
    assert store.live_grant("g2") == grant("g2", scopes=[], resource=None)
    assert store.live_grant("nope") is None


def test_a_grant_is_dead_after_its_expiry(store: OAuthStore, clock: ManualClock) -> None:
    store.put_grant(grant("g1", expires_in=60))
    clock.advance(60)
    assert store.live_grant("g1") is not None
    clock.advance(0.5)
    assert store.live_grant("g1") is None


def test_revoking_a_grant_ends_it_and_its_refresh_tokens_only(store: OAuthStore) -> None:
    store.put_grant(grant("g1"))
    store.put_grant(grant("g2"))
    store.put_refresh("rt-1", "g1", START.timestamp() + 3600)
    store.put_refresh("rt-2", "g2", START.timestamp() + 3600)
    store.revoke_grant("g1")
    assert store.live_grant("g1") is None
    assert store.refresh_grant("rt-1") is None
    assert store.live_grant("g2") == grant("g2")
    assert store.refresh_grant("rt-2") == ("g2", START.timestamp() + 3600, None)
    store.revoke_grant("g1")  # again: harmless
    store.revoke_grant("never-made")


# -- refresh tokens ---------------------------------------------------------------------------------


def test_a_refresh_token_is_used_once_and_remembers_when(store: OAuthStore, clock: ManualClock) -> None:
    store.put_grant(grant("g1"))
    expires_at = START.timestamp() + 86_400.25  # a fraction: stored as a double on every backend
    store.put_refresh("rt-1", "g1", expires_at)
    assert store.refresh_grant("rt-1") == ("g1", expires_at, None)
    clock.advance(5)
    assert store.use_refresh("rt-1") is True
    assert store.use_refresh("rt-1") is False  # rotation: a second use is refused
    assert store.refresh_grant("rt-1") == ("g1", expires_at, START.timestamp() + 5)
    assert store.refresh_grant("never-issued") is None
    assert store.use_refresh("never-issued") is False


def test_exactly_one_of_many_concurrent_users_gets_a_refresh_token(store: OAuthStore) -> None:
    store.put_grant(grant("g1"))
    store.put_refresh("rt-1", "g1", START.timestamp() + 3600)
    assert sum(race(lambda: store.use_refresh("rt-1"))) == 1


# -- console sessions -------------------------------------------------------------------------------


def test_a_session_lives_until_ended_or_expired(store: OAuthStore, clock: ManualClock) -> None:
    first, second = store.start_session(ttl=60), store.start_session(ttl=120)
    assert first != second
    assert store.session_live(first) and store.session_live(second)
    store.end_session(first)
    assert not store.session_live(first) and store.session_live(second)
    clock.advance(120)
    assert store.session_live(second)
    clock.advance(0.5)
    assert not store.session_live(second)
    assert not store.session_live("never-issued")
    store.end_session("never-issued")  # harmless


# -- storage ----------------------------------------------------------------------------------------


def test_nothing_secret_is_stored_as_itself(store: OAuthStore, oauth_backend: str) -> None:
    store.put_grant(grant("g1"))
    secrets = [
        store.put_pending("c1", {}, ttl=60),
        store.start_session(ttl=60),
        "code-secret-0123456789",
        "refresh-secret-0123456789",
    ]
    store.put_code(secrets[2], "c1", {}, START.timestamp() + 60)
    store.put_refresh(secrets[3], "g1", START.timestamp() + 60)
    dump = stored_text(oauth_backend)
    assert "g1" in dump  # the dump does read the tables
    assert [s for s in secrets if s in dump] == []


def test_another_store_on_the_same_storage_sees_the_same_state(store: OAuthStore, reopen: Reopen) -> None:
    store.put_client("c1", {"client_name": "Claude"})
    store.put_grant(grant("g1"))
    store.put_refresh("rt-1", "g1", START.timestamp() + 60)
    session = store.start_session(ttl=60)
    other = reopen()  # opening again (schema creation included) keeps every row
    assert other.get_client("c1") == {"client_name": "Claude"}
    assert other.use_refresh("rt-1") is True
    assert store.use_refresh("rt-1") is False
    other.end_session(session)
    assert not store.session_live(session)


def race(call: Callable[[], bool], racers: int = 6) -> list[bool]:
    """``call`` from ``racers`` threads released together; every answer."""
    barrier = threading.Barrier(racers)
    answers: list[bool] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        answer = call()
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=run) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == racers
    return answers

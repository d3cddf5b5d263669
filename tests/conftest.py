from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from klaviyo_analytics.config import Settings
from tests.helpers import make_settings
from tests.server_report import pytest_terminal_summary  # noqa: F401  (the hook, found by name)
from tests.servers import PostgresServer, RedisServer, postgres_server, redis_server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


# -- real servers: each started once per test run (once per xdist worker), isolated per test ----------
# Starting redis-server takes a fraction of a second and PostgreSQL (initdb + start) a few seconds:
# started per module they added up. Tests get their own PostgreSQL database or Redis database number
# instead; a test that has to stop a server (tests/quota/test_quota_in_client.py) still starts its own.


@pytest.fixture(scope="session")
def redis_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


# Database 0 is the per-test one (flushed by tests/quota's ``redis_url``); the others are handed out
# once each, to module-scoped clusters, so state never leaks between modules.
_REDIS_DATABASES = itertools.count(1)
REDIS_DATABASES = 16  # redis-server's default ``databases``


@pytest.fixture(scope="session")
def redis_database(redis_instance: RedisServer) -> Callable[[], str]:
    """A callable giving the URL of an empty Redis database of the session's server, new on each call."""

    def fresh() -> str:
        number = next(_REDIS_DATABASES)
        assert number < REDIS_DATABASES, "more Redis databases handed out than redis-server has"
        url = redis_instance.url.rsplit("/", 1)[0] + f"/{number}"
        redis.Redis.from_url(url).flushdb()
        return url

    return fresh


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with postgres_server(tmp_path_factory.mktemp("pg") / "data") as server:
        yield server


# -- order for the parallel pass ---------------------------------------------------------------------
# `make test` hands whole files to xdist workers (--dist loadfile, module fixtures start once) in
# collection order (--no-loadscope-reorder). Files holding slow tests go first, so the longest ones do
# not start last and leave one core idle at the end; the order within each file is kept.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: False (slow files) first


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """End the ``limits`` package's in-memory expiry timers (non-daemon ``threading.Timer`` threads,
    one per memory:// rate-limit storage the REST and OAuth apps build) before the interpreter waits
    for them. They end by themselves 10 ms later on a real clock; under libfaketime with the
    monotonic clock moved, CPython's timed waits (``sem_clockwait`` on a faked absolute deadline)
    never wake, and the run could not exit once every test had passed."""
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()

"""The quota store contract runs against every backend: memory, SQLite and a real redis-server."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from klaviyo_analytics.quota import QuotaStore, store_from_url
from tests.servers import RedisServer  # the session's server: tests/conftest.py

BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture
def redis_url(redis_instance: RedisServer) -> str:
    redis.Redis.from_url(redis_instance.url).flushdb()
    return redis_instance.url


def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite://{tmp_path / 'quota.sqlite3'}"
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url(request.param, tmp_path, request)


@pytest.fixture
def store(url: str) -> QuotaStore:
    return store_from_url(url)


@pytest.fixture(params=["sqlite", "redis"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store several processes can share."""
    return store_url(request.param, tmp_path, request)

"""Helpers shared by the ledger tests; fixtures live in conftest.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from klaviyo_analytics.actions import SqliteLedger
from klaviyo_analytics.actions.postgres_ledger import PostgresDatabase
from klaviyo_analytics.storage.pg import QmarkConnection

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand; every ledger in a test can share one."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def plan_of(*step_ids: str) -> list[dict[str, Any]]:
    return [
        {"step_id": s, "method": "POST", "path": "/api/lists/", "body": {"data": {"attributes": {"name": s}}}}
        for s in step_ids
    ]


@contextmanager
def raw_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection for inspecting or tampering with the file (autocommit, always closed)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


@pytest.fixture(name="backend", params=["sqlite", "postgres"])
def both_backends(request: pytest.FixtureRequest) -> str:
    """Import this into a module about ledger behaviour: its tests run on both backends."""
    return str(request.param)


@contextmanager
def raw_ledger(ledger: SqliteLedger) -> Iterator[Any]:
    """A plain autocommit connection to whatever database holds ``ledger``, for tampering."""
    if isinstance(ledger.db, PostgresDatabase):
        with psycopg.connect(ledger.db.url, autocommit=True) as conn:
            yield QmarkConnection(conn)
    else:
        with raw_db(ledger.path) as conn:
            yield conn

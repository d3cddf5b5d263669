"""PostgreSQL plumbing for the stores that can live there: the action ledger and the OAuth state.

Both are written once in SQLite's SQL (``?`` placeholders); ``QmarkConnection`` runs that SQL on a
psycopg 3 connection. psycopg is imported only by a process configured with ``KLAVIYO_MCP_LEDGER_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import RowFactory, tuple_row

from klaviyo_analytics.errors import ConfigError


def redacted(url: str) -> str:
    """The URL without its password, fit for health output and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class QmarkConnection:
    """The part of ``sqlite3.Connection`` our SQL uses (``execute`` with ``?``), on psycopg."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(sql.replace("?", "%s"), list(params))


@contextmanager
def connect(
    url: str, timeout: float, what: str, row_factory: RowFactory[Any] = tuple_row, options: str | None = None
) -> Iterator[psycopg.Connection[Any]]:
    """A connection to ``url``; one that cannot be made is a ``CONFIG_ERROR`` naming ``KLAVIYO_MCP_LEDGER_URL``.

    ``options`` are the server's run-time settings (``-c search_path=oauth``).
    """
    try:
        conn = psycopg.connect(url, connect_timeout=max(1, int(timeout)), row_factory=row_factory, options=options)
    except psycopg.Error as exc:
        raise ConfigError(
            f"{what} at {redacted(url)} cannot be reached: {exc}", variable="KLAVIYO_MCP_LEDGER_URL"
        ) from None
    with conn:
        yield conn

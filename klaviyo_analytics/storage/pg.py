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

from klaviyo_analytics.errors import UnavailableError
from klaviyo_analytics.logs import get_logger

log = get_logger("klaviyo_analytics.pg")


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
    """A connection to ``url``; a database that cannot be reached, or a connection lost mid-use, is
    ``UNAVAILABLE`` (503) whose message names no user, host, port or database — callers of every
    adapter see it — while the server log says which database and why.

    ``options`` are the server's run-time settings (``-c search_path=oauth``).
    """
    try:
        conn = psycopg.connect(url, connect_timeout=max(1, int(timeout)), row_factory=row_factory, options=options)
    except psycopg.Error as exc:
        raise _unavailable(what, url, exc) from None
    with conn:
        try:
            yield conn
        except psycopg.OperationalError as exc:
            if not conn.broken:  # a query's own failure (a serialization conflict…): the caller's to handle
                raise
            raise _unavailable(what, url, exc) from None


def _unavailable(what: str, url: str, exc: psycopg.Error) -> UnavailableError:
    log.error("storage.unavailable", what=what, database=redacted(url), error=str(exc).strip()[:500])
    return UnavailableError(
        f"{what} is unavailable right now (its database cannot be reached); try again shortly. "
        "The server log says why.",
        retryable=True,
    )

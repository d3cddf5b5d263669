"""The quota store: pacer windows, the daily count, the shared cache and single-flight.

One setting, ``KLAVIYO_MCP_QUOTA_STORE``, picks the implementation; every process naming the same store
shares one quota per Klaviyo account and one cache:

    memory://               this process only (tests, single-process use)
    sqlite:///path          one file for every process on the machine (the default: beside the ledger)
    redis://host:port/db    every process on every host using that Redis

:func:`open_store` checks the store answers before the product starts (``CONFIG_ERROR`` naming
``KLAVIYO_MCP_QUOTA_STORE`` if not) and wraps it in :class:`GuardedStore`, which pauses Klaviyo calls if it stops
answering later (and resumes when it answers again).
"""

from __future__ import annotations

import time
from pathlib import Path

from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.quota.base import (
    BLOCKED,
    CacheEntry,
    QuotaStore,
    Reservation,
    StoreUnavailable,
    Window,
)
from klaviyo_analytics.quota.guarded import DEGRADED_WARNING, GuardedStore
from klaviyo_analytics.quota.memory import MemoryStore

__all__ = [
    "BLOCKED",
    "DEGRADED_WARNING",
    "CacheEntry",
    "GuardedStore",
    "MemoryStore",
    "QuotaStore",
    "Reservation",
    "StoreUnavailable",
    "Window",
    "default_sqlite_path",
    "open_store",
    "store_from_url",
]


def default_sqlite_path(settings: Settings) -> Path:
    return settings.resolved_ledger_path.parent / "quota.sqlite3"


def store_from_url(url: str) -> QuotaStore:
    """The store a ``KLAVIYO_MCP_QUOTA_STORE`` value names (raises StoreUnavailable if it cannot be opened)."""
    if url.startswith("memory://"):
        return MemoryStore(monotonic=time.monotonic)
    if url.startswith("sqlite://"):
        from klaviyo_analytics.quota.sqlite import SqliteStore

        return SqliteStore(Path(url.removeprefix("sqlite://")).expanduser())
    from klaviyo_analytics.quota.redis_store import RedisStore

    return RedisStore(url)


def open_store(settings: Settings) -> GuardedStore:
    url = settings.quota_store or f"sqlite://{default_sqlite_path(settings)}"
    try:
        store = store_from_url(url)
        store.ping()
    except StoreUnavailable as exc:
        raise ConfigError(
            f"KLAVIYO_MCP_QUOTA_STORE cannot be used: {exc}. Point it at a reachable store "
            "(memory://, sqlite:///path/quota.sqlite3 or redis://host:6379/0)",
            variable="KLAVIYO_MCP_QUOTA_STORE",
        ) from None
    return GuardedStore(store)

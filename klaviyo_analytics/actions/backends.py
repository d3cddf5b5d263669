"""Which ledger a process opens: ``KLAVIYO_MCP_LEDGER_URL`` (PostgreSQL) or a SQLite file (the default).

One function for every opener (the services, the CLI, the console), so no two processes of one
deployment can disagree about where proposals live.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from klaviyo_analytics.actions.ledger import Ledger
from klaviyo_analytics.actions.models import utc_now
from klaviyo_analytics.actions.sql_ledger import SqliteLedger, SqlLedger
from klaviyo_analytics.config import Settings


def open_ledger(settings: Settings, clock: Callable[[], datetime] = utc_now) -> Ledger:
    """The configured ``Ledger``; psycopg is imported only when PostgreSQL is. ``clock``: tests move time.

    Typed to the interface: both backends pass one contract suite (tests/actions/test_ledger_contract_*).
    """
    kind: type[SqlLedger] = SqliteLedger
    if settings.ledger_url:
        from klaviyo_analytics.actions.postgres_ledger import PostgresLedger

        kind = PostgresLedger
    return kind(
        settings.ledger_url or settings.resolved_ledger_path,
        clock,
        default_ttl=timedelta(hours=settings.action_ttl_hours),
        approval_key=settings.approval_key(),
        require_second_approver=settings.require_second_approver,
    )


def ledger_location(settings: Settings) -> str:
    """Where the ledger is, fit to print: a database URL loses its password."""
    if settings.ledger_url:
        from klaviyo_analytics.storage.pg import redacted

        return f"{redacted(settings.ledger_url)} (KLAVIYO_MCP_LEDGER_URL)"
    where = (
        "KLAVIYO_MCP_LEDGER_PATH"
        if settings.ledger_path
        else "the per-user default; KLAVIYO_MCP_LEDGER_PATH picks another"
    )
    return f"{settings.resolved_ledger_path} ({where})"

"""Approval-gated actions: the ledger of proposals, decisions, executions and traces.

``propose_*`` tools store a ``Proposal`` (an exact plan of upstream calls); a person approves it
outside the model's reach; ``execute`` runs the stored plan once, journaling each step. The
state machine and its refusals live in ``ledger``; ``SqlLedger`` stores them, on one SQLite file
(``SqliteLedger``: WAL, shared by every process on one machine) or PostgreSQL (``PostgresLedger``).

    plans      what a plan step is: references between steps, checks for unconfirmed creates
    recipes    the plan each action proposes (pure)
    propose    the propose tools: validate, resolve with GETs, store — nothing written to Klaviyo
    executor   the execute tool: the stored plan, once, journaled, resumable
    audit      the record as people read it (tools, REST approval routes, CLI)
    approvals  a person's decisions: approve / reject, resolve a step (REST, console, CLI; never a tool)
    cli        ``python -m klaviyo_analytics actions list|show|approve|reject``
    confirm    the optional elicitation callback adapters hand to execute
    models, ledger, sql_ledger, postgres_ledger   the ledger itself (its SQLite file: storage/sqlite_db)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from klaviyo_analytics.actions.ledger import DEFAULT_TTL, STEP_ID_KEY, TRANSITIONS, Ledger
    from klaviyo_analytics.actions.models import (
        Decision,
        Execution,
        ExecutionHandle,
        ExecutionStatus,
        History,
        JournalEntry,
        Proposal,
        ProposalStatus,
        StepStatus,
        TraceEntry,
        Transition,
        plan_hash,
        utc_now,
    )
    from klaviyo_analytics.actions.sql_ledger import SqliteLedger, SqlLedger

# Loaded on first use (PEP 562): importing one submodule (the MCP server's ``confirm``) does not
# load the ledger and its SQLite code until something touches them.
_HOME = {
    **dict.fromkeys(("DEFAULT_TTL", "STEP_ID_KEY", "TRANSITIONS", "Ledger"), "ledger"),
    **dict.fromkeys(
        [
            "Decision",
            "Execution",
            "ExecutionHandle",
            "ExecutionStatus",
            "History",
            "JournalEntry",
            "Proposal",
            "ProposalStatus",
            "StepStatus",
            "TraceEntry",
            "Transition",
            "plan_hash",
            "utc_now",
        ],
        "models",
    ),
    "SqliteLedger": "sql_ledger",
    "SqlLedger": "sql_ledger",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_TTL",
    "STEP_ID_KEY",
    "TRANSITIONS",
    "Decision",
    "Execution",
    "ExecutionHandle",
    "ExecutionStatus",
    "History",
    "JournalEntry",
    "Ledger",
    "Proposal",
    "ProposalStatus",
    "SqlLedger",
    "SqliteLedger",
    "StepStatus",
    "TraceEntry",
    "Transition",
    "plan_hash",
    "utc_now",
]

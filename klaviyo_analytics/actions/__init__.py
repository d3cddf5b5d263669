"""Approval-gated actions: the ledger of proposals, decisions, executions and traces.

``propose_*`` tools store a ``Proposal`` (an exact plan of upstream calls); a person approves it
outside the model's reach; ``execute`` runs the stored plan once, journaling each step. The
state machine and its refusals live in ``ledger``; ``SqliteLedger`` stores them (WAL, shared by
every process on one machine).
"""

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
from klaviyo_analytics.actions.sqlite_ledger import SqliteLedger

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
    "SqliteLedger",
    "StepStatus",
    "TraceEntry",
    "Transition",
    "plan_hash",
    "utc_now",
]

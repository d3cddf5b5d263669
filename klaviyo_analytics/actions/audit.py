"""Reading the ledger back for people: the action view, the list, and how to approve (the decisions
themselves: ``approvals``).

Used by the propose, execute and audit tools, the REST approval routes and the CLI, so everyone
sees the same record: who proposed, approved and executed what, when, and every upstream call.
"""

from __future__ import annotations

import shlex
from typing import Any

from klaviyo_analytics import paths
from klaviyo_analytics.actions import flow_guard, secret_env
from klaviyo_analytics.actions.ledger import Ledger
from klaviyo_analytics.actions.models import History, Proposal, ProposalStatus, iso
from klaviyo_analytics.actions.models import plan_hash as hash_of_plan
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ApprovalRequiredError
from klaviyo_analytics.schemas.actions import ActionList, ActionParams, ActionRow, ActionView, ListActionsParams
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult


def approve_command(action_id: str, settings: Settings | None = None) -> str:
    """The approver's command, runnable as printed from any directory (paths.cli_command: this interpreter by
    absolute path, and the config dir the server read); with KLAVIYO_MCP_LEDGER_PATH set it names that ledger
    too, which may come from the server's environment rather than its .env.

    A ``KLAVIYO_MCP_LEDGER_URL`` carries the database password, so it is named, never written out: the
    approver's shell needs the server's value (its .env does it).
    """
    ledger = ""
    if settings and settings.ledger_url:
        ledger = "KLAVIYO_MCP_LEDGER_URL=$KLAVIYO_MCP_LEDGER_URL "
    elif settings and settings.ledger_path:
        ledger = f"KLAVIYO_MCP_LEDGER_PATH={shlex.quote(str(settings.ledger_path))} "
    return f"{ledger}{paths.cli_command()} actions approve {action_id}"


def approve_url(settings: Settings, action_id: str) -> str | None:
    """The proposal's page in the approval console, only where KLAVIYO_MCP_PUBLIC_BASE_URL names the console
    that serves this ledger: a guessed http://127.0.0.1:8080 may be nobody's, or a console of another ledger."""
    return f"{settings.public_base_url}/console/actions/{action_id}" if settings.public_base_url else None


def approve_endpoint(settings: Settings, action_id: str) -> str | None:
    return f"{settings.public_base_url}/v1/actions/{action_id}/approve" if settings.public_base_url else None


# What the text says instead of a link when no console is configured.
NO_CONSOLE = (
    "no approval console is configured for this ledger; to approve in a browser, serve the REST app on the "
    "same configuration and set KLAVIYO_MCP_PUBLIC_BASE_URL to its address (docs/approvals.md)"
)


def approve_hint(settings: Settings, action_id: str) -> str:
    command = approve_command(action_id, settings)
    url, endpoint = approve_url(settings, action_id), approve_endpoint(settings, action_id)
    if url is None:
        return f"A person approves it outside this chat: they run `{command}` in a terminal ({NO_CONSOLE})."
    return (
        f"A person approves it outside this chat: they open {url} (the approval console), run `{command}`, "
        f'or POST {endpoint} with an approver token and {{"plan_hash": "<the plan_hash they reviewed>"}}.'
    )


def _approve_hint(settings: Settings, proposal: Proposal) -> str:
    hint = approve_hint(settings, proposal.id)
    needed = flow_guard.required(proposal.plan)
    if not needed:
        return hint
    return (
        f"{hint} The approver must acknowledge its BLOCKING warning: `--acknowledge {needed[0]}` in the CLI, "
        f'"acknowledge": ["{needed[0]}"] in the REST body, or the checkbox in the console.'
    )


def approval_required(settings: Settings, action_id: str) -> ApprovalRequiredError:
    command = approve_command(action_id, settings)
    url, endpoint = approve_url(settings, action_id), approve_endpoint(settings, action_id)
    where = (
        f"at {url} (or run `{command}`, or POST {endpoint} with an approver token)"
        if url
        else f"by running `{command}` in a terminal ({NO_CONSOLE})"
    )
    links = {"approve_url": url, "approve_endpoint": endpoint} if url else {}
    return ApprovalRequiredError(
        f"Action {action_id} has not been approved, and it cannot be approved from this chat. Ask a person "
        f"to review and approve it {where}, then execute it again.",
        action_id=action_id,
        approve_command=command,
        **links,
    )


def _history(history: History) -> list[dict[str, Any]]:
    return [
        {"at": iso(t.at), "by": t.actor, "to": t.to_status.value, "note": t.note}
        for t in history.transitions
        if t.from_status != t.to_status or t.note  # a lease takeover keeps its note
    ]


# Executor machinery in each step: how to read the answer and how to find an unconfirmed create.
_MACHINERY = ("returns", "check")


def view(ledger: Ledger, settings: Settings, action_id: str, *, full: bool = False) -> ActionView:
    """One action's record. ``full`` (the audit) keeps each step's machinery and each traced body;
    otherwise a step shows what it does (note, method, path, body), to keep answers short."""
    history = ledger.get_history(action_id)
    proposal, execution = history.proposal, history.execution
    trace = []
    for entry in ledger.get_trace(action_id):
        row: dict[str, Any] = {
            "step": entry.step_id,
            "call": f"{entry.method} {entry.path}",
            "status": entry.status_code,
            "ms": entry.latency_ms,
            "at": iso(entry.at),
        }
        if entry.error:
            row["error"] = entry.error
        if full and entry.request_body is not None:
            row["body"] = entry.request_body
        trace.append(row)
    created = dict(execution.created) if execution else {}
    if execution and execution.error:
        created["_error"] = execution.error
    return ActionView(
        action_id=proposal.id,
        status=proposal.status.value,
        summary=proposal.summary,
        plan=[s if full else {k: v for k, v in s.items() if k not in _MACHINERY} for s in proposal.plan],
        plan_hash=hash_of_plan(proposal.plan),
        expires_at=iso(proposal.expires_at),
        by=[proposal.proposed_by, history.decision.approver if history.decision else None],
        approve=_approve_hint(settings, proposal) if proposal.status is ProposalStatus.PENDING else None,
        created=created,
        history=_history(history),
        trace=trace,
    )


def result(ledger: Ledger, settings: Settings, proposal: Proposal, *, full: bool = False) -> ToolResult[ActionView]:
    # Every secret the plan inserts, in words, computed from the plan itself (secret_env.describe).
    return ToolResult(
        data=view(ledger, settings, proposal.id, full=full),
        account=proposal.account,
        warnings=[*proposal.warnings, *secret_env.describe(proposal.plan)],
    )


# -- the audit tools ---------------------------------------------------------------------------


def get_action(service: KlaviyoService, params: ActionParams, ctx: CallContext) -> ToolResult[ActionView]:
    proposal = service.ledger.get_proposal(params.action_id)
    return result(service.ledger, service.settings, proposal, full=True)


def list_actions(service: KlaviyoService, params: ListActionsParams, ctx: CallContext) -> ToolResult[ActionList]:
    account = service.account(params.account).slug if params.account else None  # none: every account
    if account is None and not ctx.principal.unrestricted:
        # Every account this caller may see, not every account in the ledger.
        proposals = sorted(
            (
                p
                for slug in ctx.principal.visible(service.registry.names)
                for p in service.ledger.list_proposals(account=slug, status=params.status, limit=params.limit)
            ),
            key=lambda p: p.created_at,
            reverse=True,
        )[: params.limit]
    else:
        proposals = service.ledger.list_proposals(account=account, status=params.status, limit=params.limit)
    rows = [
        ActionRow(
            action_id=p.id,
            action=p.action,
            account=p.account,
            status=p.status.value,
            summary=p.summary,
            proposed_by=p.proposed_by,
            created_at=iso(p.created_at),
            expires_at=iso(p.expires_at),
        )
        for p in proposals
    ]
    return ToolResult(data=ActionList(actions=rows), account=account)

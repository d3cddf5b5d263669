"""The approver's command line, for people who run only the MCP server.

    python -m klaviyo_analytics actions list [--status S] [--account A] [--limit N]
    python -m klaviyo_analytics actions show <id> [--json]
    python -m klaviyo_analytics actions approve <id> [--plan-hash H] [--reason TEXT] [--as NAME] [--acknowledge …]
    python -m klaviyo_analytics actions reject <id> [--reason TEXT] [--as NAME]
    python -m klaviyo_analytics actions resolve <id> (--adopt OBJECT_ID | --none | --abandon) [--note TEXT]

``resolve`` answers for a step that stopped in needs_attention (a create whose answer was lost
and whose result could not be proven): ``--adopt`` the object it made (checked in Klaviyo),
``--none`` it made nothing (send it again), ``--abandon`` stop for good. Like ``approve`` it lets
the plan run on, so it needs a person at a terminal too.

``approve`` needs a person at an interactive terminal: stdin and stdout must be TTYs, and the
person types back a short code it shows there. A process without a terminal (a model's shell
tool) is refused. It is a speed bump, not a wall, on a single-user machine: a program running as
the same OS user that can drive a pseudo-terminal could still type the code (see docs/approvals.md).

``approve`` binds the plan hash the person saw: ``--plan-hash`` (read in the console, REST or
``show``), else the plan is printed above the code prompt with its hash, and that hash is approved;
a plan that no longer hashes to it is refused (approvals.decide).

Same settings and ledger as the servers (KLAVIYO_MCP_LEDGER_URL, KLAVIYO_MCP_LEDGER_PATH, or the per-user
data dir). The approver is ``--as NAME``, or ``cli:$USER``. With KLAVIYO_MCP_USERS_FILE set, ``--as`` must
name an approver of the proposal's account, proven by that user's password or token
(``KLAVIYO_MCP_APPROVER_CREDENTIAL``, a hidden prompt, or stdin; never an argument): cli_identity.py.
Exit status: 0 done, 1 refused (the message says why), 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import json
import secrets
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from klaviyo_analytics.actions import approvals, audit, flow_guard
from klaviyo_analytics.actions.backends import ledger_location, open_ledger
from klaviyo_analytics.actions.cli_identity import proven_user
from klaviyo_analytics.actions.ledger import Ledger
from klaviyo_analytics.actions.models import ProposalStatus
from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.errors import ForbiddenError, KlaviyoMCPError
from klaviyo_analytics.schemas.actions import ACTION_STATUSES, ActionView


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m klaviyo_analytics", description="klaviyo-mcp administration")
    areas = top.add_subparsers(dest="area", required=True)
    actions = areas.add_parser("actions", help="review, approve or reject proposed actions")
    commands = actions.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="proposals, newest first")
    listing.add_argument("--status", choices=ACTION_STATUSES)
    listing.add_argument("--account")
    listing.add_argument("--limit", type=int, default=20)
    show = commands.add_parser("show", help="one proposal: summary, warnings, the exact plan, history, trace")
    show.add_argument("action_id")
    show.add_argument("--json", action="store_true", help="print the full record as JSON")
    for name in ("approve", "reject"):
        decide = commands.add_parser(name, help=f"{name} a pending proposal")
        decide.add_argument("action_id")
        decide.add_argument("--reason")
        decide.add_argument(
            "--as",
            dest="approver",
            help="who decides (default cli:$USER); with KLAVIYO_MCP_USERS_FILE, a user proven by password or token",
        )
        if name == "approve":
            decide.add_argument(
                "--plan-hash",
                help="the plan_hash you reviewed (console, REST or `actions show`); without it, the plan is shown "
                "here and what is shown is what you approve",
            )
            decide.add_argument(
                "--acknowledge",
                action="append",
                choices=flow_guard.ACKNOWLEDGEMENTS,
                help="accept a BLOCKING warning: live_flow_sends (live flows will send to the profiles added)",
            )
    resolve = commands.add_parser("resolve", help="answer for a step that stopped in needs_attention")
    resolve.add_argument("action_id")
    answer = resolve.add_mutually_exclusive_group(required=True)
    answer.add_argument("--adopt", metavar="OBJECT_ID", help="the step made this Klaviyo object")
    answer.add_argument("--none", action="store_true", help="the step made nothing: send it again")
    answer.add_argument("--abandon", action="store_true", help="stop the action here for good")
    resolve.add_argument("--note")
    resolve.add_argument("--as", dest="approver", help="your name in the audit (default cli:$USER)")
    return top


def _approver(name: str | None) -> str:
    if name and name.strip():
        return name.strip()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        user = "unknown"
    return f"cli:{user}"


CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 6


def confirm_at_terminal(action_id: str, stdin: TextIO, stdout: TextIO, verb: str = "approve") -> None:
    """Refuse unless a person at a terminal types back the code shown there."""
    if not (stdin.isatty() and stdout.isatty()):
        raise ForbiddenError(
            f"{verb[:-1].capitalize()}ing needs a person at an interactive terminal (stdin and stdout must be "
            "a TTY); this process has none. Run the command yourself in a terminal, or approve through the REST "
            "approve endpoint with an approver token.",
        )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    stdout.write(f"To {verb} {action_id}, type this code: {code}\n> ")
    stdout.flush()
    typed = stdin.readline().strip().upper()
    if typed != code:
        raise ForbiddenError(f"The code typed does not match; {action_id} was not {verb}d. Run the command again.")


def render(view: ActionView, warnings: Sequence[str], out: TextIO) -> None:
    """The plan as a person reviews it before approving: every call, every body."""
    out.write(f"{view.action_id}  [{view.status}]  expires {view.expires_at}\n{view.summary}\n")
    for warning in warnings:
        out.write(f"  ! {warning}\n")
    out.write('\nPlan (run in this order; {"$ref": "step.key"} is filled in from an earlier step):\n')
    for n, item in enumerate(view.plan, start=1):
        out.write(f"  {n}. {item.get('note', '')}\n     {item['method']} {item['path']}\n")
        if item.get("path_params"):
            out.write(f"     path: {json.dumps(item['path_params'])}\n")
        if item.get("body") is not None:
            out.write("     body: " + json.dumps(item["body"], indent=2).replace("\n", "\n     ") + "\n")
    out.write(f"\nPlan hash (sha256; approving binds it): {view.plan_hash}\n")
    out.write("\nHistory:\n")
    for entry in view.history:
        note = f" — {entry['note']}" if entry.get("note") else ""
        out.write(f"  {entry['at']}  {entry['to']:<10} by {entry['by']}{note}\n")
    if view.created:
        out.write(f"\nResults: {json.dumps(view.created)}\n")
    if view.trace:
        out.write("\nTrace:\n")
        for call in view.trace:
            out.write(f"  {call['at']}  {call['step']}: {call['call']} -> {call['status'] or call.get('error')}\n")
    if view.approve:
        out.write(f"\n{view.approve}\n")


def run(
    args: argparse.Namespace, ledger: Ledger, settings: Settings, out: TextIO, tty: tuple[TextIO, TextIO] | None = None
) -> None:
    if args.command == "list":
        found = ledger.list_proposals(account=args.account, status=args.status, limit=args.limit)
        for p in found:
            out.write(f"{p.id}  {p.status.value:<9}  {p.account:<10}  {p.action:<20}  {p.summary}\n")
        if not found:
            # An empty answer most often means another ledger than the server's: say which one this is.
            out.write(f"no actions in the ledger {ledger_location(settings)}\n")
        return
    if args.command == "show":
        result = audit.result(ledger, settings, ledger.get_proposal(args.action_id), full=True)
        if args.json:
            record: dict[str, Any] = {**result.data.model_dump(mode="json"), "warnings": result.warnings}
            out.write(json.dumps(record, indent=2) + "\n")
        else:
            render(result.data, result.warnings, out)
        return
    stdin, stdout = tty or (sys.stdin, sys.stdout)
    if args.command == "resolve":
        resolution = "adopt" if args.adopt else "none" if args.none else "abandon"
        target = ledger.get_proposal(args.action_id)
        proven = proven_user(settings, args.approver, target.account, target.proposed_by, False, stdin, sys.stderr)
        if target.status is ProposalStatus.NEEDS_ATTENTION:
            confirm_at_terminal(args.action_id, stdin, stdout, verb="resolve")
        who = proven or _approver(args.approver)
        proposal = approvals.resolve(ledger, args.action_id, resolution, who, args.adopt, args.note)
        out.write(f"{proposal.id} {proposal.status.value} ({resolution}) by {who}.\n")
        if proposal.status is ProposalStatus.APPROVED:
            out.write("It resumes when someone calls klaviyo_execute_action again.\n")
        return
    approve = args.command == "approve"
    target = ledger.get_proposal(args.action_id)
    # With KLAVIYO_MCP_USERS_FILE, --as is proven (password or token) and must be an approver there (cli_identity).
    proven = proven_user(settings, args.approver, target.account, target.proposed_by, approve, stdin, sys.stderr)
    who = proven or _approver(args.approver)
    shown = getattr(args, "plan_hash", None)
    # Rejecting needs no terminal (it can never make anything run); an unknown or already decided
    # id says so (in decide) without asking for a code.
    if approve and target.status is ProposalStatus.PENDING:
        if shown is None:  # show what is approved, on the screen where the code is typed
            result = audit.result(ledger, settings, target)
            render(result.data, result.warnings, stdout)
            shown = result.data.plan_hash
        stdout.write(f"You approve the plan with sha256 {shown}.\n")
        confirm_at_terminal(args.action_id, stdin, stdout)
    acknowledge = getattr(args, "acknowledge", None)
    proposal = approvals.decide(ledger, args.action_id, approve, who, args.reason, acknowledge, plan_hash=shown)
    out.write(f"{proposal.id} {proposal.status.value} by {who}.\n")
    if approve:
        out.write("It runs when someone calls klaviyo_execute_action (or POST /v1/actions/<id>/execute).\n")


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        run(args, open_ledger(settings), settings, out)
    except KlaviyoMCPError as exc:
        err.write(f"{exc.code}: {exc.message}\n")
        return 1
    return 0

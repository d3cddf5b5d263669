"""A person's decisions on a proposal: approve or reject, and the answer for a step that needs attention.

Only the people's paths call these — the REST approval routes, the console and the CLI — never a
tool; ``audit`` shows the record they leave.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from klaviyo_analytics.actions import flow_guard, secret_env
from klaviyo_analytics.actions.ledger import Ledger
from klaviyo_analytics.actions.models import Proposal, ProposalStatus
from klaviyo_analytics.errors import InvalidArgumentError

MAX_REASON = 500
PLAN_HASH = re.compile(r"[0-9a-f]{64}")


def decide(
    ledger: Ledger,
    action_id: str,
    approve: bool,
    approver: str,
    reason: str | None,
    acknowledge: Sequence[str] | None = None,
    plan_hash: str | None = None,
) -> Proposal:
    """Approve or reject: only ever called by the REST approval routes, the console and the CLI.

    Approving names the ``plan_hash`` the approver was shown (ActionView.plan_hash, the console
    form, the CLI's listing); the ledger refuses it unless the stored plan hashes to it now.
    Approving a plan whose writes can start a live flow needs ``acknowledge`` (flow_guard); the
    acknowledgement is kept with the decision's reason, so the audit trail shows it."""
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise InvalidArgumentError(f"reason must be text of at most {MAX_REASON} characters.", field="reason")
    reason = (reason or "").strip() or None
    proposal = ledger.get_proposal(action_id) if approve else None
    # A decided or expired proposal keeps its own refusal (ledger.decide): the hash is asked of a pending one.
    if proposal is not None and proposal.status is ProposalStatus.PENDING:
        if not isinstance(plan_hash, str) or not PLAN_HASH.fullmatch(plan_hash.strip().lower()):
            raise InvalidArgumentError(
                "approving needs plan_hash: the sha256 of the plan you reviewed (64 hex characters, shown with the "
                "plan as plan_hash), so what runs is what you saw.",
                field="plan_hash",
            )
        plan = proposal.plan
        secret_env.check_plan(plan, action_id)  # a plan that would be refused at execute is not approved
        given = flow_guard.check_acknowledged(plan, acknowledge)
        if given:
            reason = f"{reason + ' ' if reason else ''}[acknowledged: {', '.join(given)}]"
    return ledger.decide(action_id, approve, approver, reason, shown_hash=plan_hash if approve else None)


def resolve(
    ledger: Ledger, action_id: str, resolution: str, actor: str, object_id: str | None, note: str | None
) -> Proposal:
    """A person's answer for a needs_attention step: only the CLI and the console call this."""
    if note is not None and (not isinstance(note, str) or len(note) > MAX_REASON):
        raise InvalidArgumentError(f"note must be text of at most {MAX_REASON} characters.", field="note")
    return ledger.resolve(action_id, resolution, actor, object_id, (note or "").strip() or None)

"""A person's decisions on a proposal: approve or reject, and the answer for a step that needs attention.

Only the people's paths call these — the REST approval routes, the console and the CLI — never a
tool; ``audit`` shows the record they leave.
"""

from __future__ import annotations

from collections.abc import Sequence

from klaviyo_analytics.actions import flow_guard
from klaviyo_analytics.actions.ledger import Ledger
from klaviyo_analytics.actions.models import Proposal
from klaviyo_analytics.errors import InvalidArgumentError

MAX_REASON = 500


def decide(
    ledger: Ledger,
    action_id: str,
    approve: bool,
    approver: str,
    reason: str | None,
    acknowledge: Sequence[str] | None = None,
) -> Proposal:
    """Approve or reject: only ever called by the REST approval routes, the console and the CLI.

    Approving a plan whose writes can start a live flow needs ``acknowledge`` (flow_guard); the
    acknowledgement is kept with the decision's reason, so the audit trail shows it."""
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise InvalidArgumentError(f"reason must be text of at most {MAX_REASON} characters.", field="reason")
    reason = (reason or "").strip() or None
    if approve:
        given = flow_guard.check_acknowledged(ledger.get_proposal(action_id).plan, acknowledge)
        if given:
            reason = f"{reason + ' ' if reason else ''}[acknowledged: {', '.join(given)}]"
    return ledger.decide(action_id, approve, approver, reason)


def resolve(
    ledger: Ledger, action_id: str, resolution: str, actor: str, object_id: str | None, note: str | None
) -> Proposal:
    """A person's answer for a needs_attention step: only the CLI and the console call this."""
    if note is not None and (not isinstance(note, str) or len(note) > MAX_REASON):
        raise InvalidArgumentError(f"note must be text of at most {MAX_REASON} characters.", field="note")
    return ledger.resolve(action_id, resolution, actor, object_id, (note or "").strip() or None)

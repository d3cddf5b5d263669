"""The webhook events an action raises (webhooks.py sends them): what a team's relay needs to say
"a change waits for you" and "it ran", with the link to the proposal's page in the console."""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.actions import audit
from klaviyo_analytics.actions.models import Proposal, ProposalStatus, iso
from klaviyo_analytics.rules.untrusted import clean_summary
from klaviyo_analytics.service.core import KlaviyoService

WAITING = "proposal.waiting"
EXECUTED = "action.executed"


def _common(service: KlaviyoService, proposal: Proposal) -> dict[str, Any]:
    return {
        "action_id": proposal.id,
        "account": proposal.account,
        "action": proposal.action,
        "summary": clean_summary(proposal.summary),  # account text: no bidi or control characters
        "proposed_by": proposal.proposed_by,
        "url": audit.approve_url(service.settings, proposal.id),
    }


def proposal_waiting(service: KlaviyoService, proposal: Proposal) -> None:
    data = {**_common(service, proposal), "expires_at": iso(proposal.expires_at), "warnings": list(proposal.warnings)}
    service.notifier.send(WAITING, data)


def action_executed(service: KlaviyoService, action_id: str) -> None:
    """Sent once the execution has finished for good (succeeded or failed) or stopped for a person
    (needs_attention), not on a retryable stop."""
    proposal = service.ledger.get_proposal(action_id)
    if proposal.status not in (ProposalStatus.SUCCEEDED, ProposalStatus.FAILED, ProposalStatus.NEEDS_ATTENTION):
        return
    execution = service.ledger.get_execution(action_id)
    data = {
        **_common(service, proposal),
        "status": proposal.status.value,
        "created": execution.created if execution else {},
        "error": execution.error if execution else None,
    }
    service.notifier.send(EXECUTED, data)

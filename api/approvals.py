"""Approving and rejecting actions over REST: the people's gate, deliberately not catalog tools.

No MCP tool can approve: these routes exist only here, and only an approver token
(``APPROVER_TOKENS``) may use them; a read token is refused with 403. The approver recorded in the
ledger is the token's fingerprint (``g.caller``), never the token.

    POST /v1/actions/<action_id>/approve   {"reason": "..."} optional
    POST /v1/actions/<action_id>/reject    {"reason": "..."} optional
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request

from klaviyo_analytics.actions import audit
from klaviyo_analytics.errors import ForbiddenError, InvalidArgumentError
from klaviyo_analytics.service import KlaviyoService

approvals = Blueprint("approvals", __name__)


def _reason() -> str | None:
    if not request.content_length:
        return None
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict) or set(body) - {"reason"}:
        raise InvalidArgumentError('the body, if any, must be a JSON object {"reason": "..."}', field="(body)")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidArgumentError("reason must be text", field="reason")
    return reason


def _decide(action_id: str, approve: bool) -> Response:
    if not g.get("is_approver"):
        raise ForbiddenError(
            "approving or rejecting an action needs an approver token (APPROVER_TOKENS); a read token cannot"
        )
    service: KlaviyoService = current_app.extensions["klaviyo_service"]
    proposal = audit.decide(service.ledger, action_id, approve, approver=g.caller, reason=_reason())
    result = audit.result(service.ledger, service.settings, proposal)
    return jsonify(
        {
            "data": result.data.model_dump(mode="json"),
            "metadata": {"account": result.account},
            "warnings": result.warnings,
        }
    )


@approvals.post("/v1/actions/<action_id>/approve")
def approve(action_id: str) -> Response:
    return _decide(action_id, approve=True)


@approvals.post("/v1/actions/<action_id>/reject")
def reject(action_id: str) -> Response:
    return _decide(action_id, approve=False)

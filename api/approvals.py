"""Approving and rejecting actions over REST: the people's gate, deliberately not catalog tools.

No MCP tool can approve: these routes exist only here, and only a caller with the ``approver`` role
on the proposal's account may use them (an ``KLAVIYO_MCP_APPROVER_TOKENS`` token, or an approver grant in
``KLAVIYO_MCP_USERS_FILE``); anyone else is refused with 403, and an action of an account outside the caller's
grants answers the same FORBIDDEN as one that does not exist. The approver recorded in the ledger
is the caller's user (``g.principal.user``: the token's fingerprint without a users file), never
the token.

    POST /v1/actions/<action_id>/approve   {"plan_hash": "<the plan_hash you reviewed>"} required,
                                           "reason", "acknowledge": ["live_flow_sends"] optional
    POST /v1/actions/<action_id>/reject    {"reason": "..."} optional

``plan_hash`` is the ``plan_hash`` of the action as the approver read it (GET /v1/actions/<id>):
missing is 400, a plan that no longer hashes to it is 409 (field ``plan_hash``), whatever the
ledger's own hash column says.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, g, jsonify, request

from api.limits import json_body
from klaviyo_analytics.actions import audit
from klaviyo_analytics.actions.approvals import decide
from klaviyo_analytics.auth import ANY_ACCOUNT, Principal, Role
from klaviyo_analytics.errors import ForbiddenError, InvalidArgumentError, NotFoundError
from klaviyo_analytics.schemas.actions import ACTION_ID_PATTERN
from klaviyo_analytics.service import KlaviyoService
from klaviyo_analytics.tools.access import action_forbidden

approvals = Blueprint("approvals", __name__)
ACTION_ID = re.compile(ACTION_ID_PATTERN.strip("^$"))


def _body() -> tuple[str | None, list[str] | None, str | None]:
    """``reason``, ``acknowledge`` (what the approver accepts: flow_guard) and ``plan_hash`` (the
    plan the approver was shown; approving needs it: approvals.decide) from the body."""
    if not request.content_length:
        return None, None, None
    body = json_body() if request.is_json else None
    if not isinstance(body, dict) or set(body) - {"reason", "acknowledge", "plan_hash"}:
        raise InvalidArgumentError(
            'the body must be a JSON object {"plan_hash": "<the plan_hash you reviewed>", "reason": "...", '
            '"acknowledge": ["..."]}',
            field="(body)",
        )
    shown = body.get("plan_hash")
    if shown is not None and not isinstance(shown, str):
        raise InvalidArgumentError("plan_hash must be text: the plan_hash shown with the plan", field="plan_hash")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidArgumentError("reason must be text", field="reason")
    acknowledge = body.get("acknowledge")
    if acknowledge is not None and (
        not isinstance(acknowledge, list) or not all(isinstance(a, str) for a in acknowledge)
    ):
        raise InvalidArgumentError('acknowledge must be a list, e.g. ["live_flow_sends"]', field="acknowledge")
    return reason, acknowledge, shown


def _checked_id(action_id: str) -> str:
    """The same id rule as execute (ActionParams): an id that cannot exist is a 400, not a 404
    echoing whatever the path carried (CR, LF, NUL)."""
    if not ACTION_ID.fullmatch(action_id):
        raise InvalidArgumentError(
            "action_id must be an action id: act_ followed by 1-64 letters, digits, - or _", field="action_id"
        )
    return action_id


def _decide(action_id: str, approve: bool) -> Response:
    action_id = _checked_id(action_id)
    service: KlaviyoService = current_app.extensions["klaviyo_service"]
    principal: Principal = g.principal
    _require_approver(service, principal, action_id)
    if approve and service.settings.require_second_approver:
        _require_second_person(service, principal, action_id)
    reason, acknowledge, shown = _body()
    proposal = decide(
        service.ledger, action_id, approve, approver=principal.user, reason=reason, acknowledge=acknowledge,
        plan_hash=shown,
    )  # fmt: skip
    result = audit.result(service.ledger, service.settings, proposal)
    return jsonify(
        {
            "data": result.data.model_dump(mode="json"),
            "metadata": {"account": result.account},
            "warnings": result.warnings,
        }
    )


def _require_approver(service: KlaviyoService, principal: Principal, action_id: str) -> None:
    try:
        account = service.ledger.get_proposal(action_id).account
    except NotFoundError:
        if not principal.can(ANY_ACCOUNT, Role.READER):
            raise action_forbidden(principal, action_id) from None  # the same answer as another account's
        if principal.can(ANY_ACCOUNT, Role.APPROVER):
            raise  # NOT_FOUND: nothing is hidden from a caller who sees every account
        raise approver_needed(principal, None) from None
    if not principal.can(account, Role.READER):
        raise action_forbidden(principal, action_id)
    if not principal.can(account, Role.APPROVER):
        raise approver_needed(principal, account)


def _require_second_person(service: KlaviyoService, principal: Principal, action_id: str) -> None:
    # The ledger may enforce this too; checking here as well keeps the REST answer specific.
    if service.ledger.get_proposal(action_id).proposed_by == principal.user:
        raise ForbiddenError(
            f"{principal.user} proposed this action and KLAVIYO_MCP_REQUIRE_SECOND_APPROVER is on: "
            "another approver must "
            "approve it (rejecting your own proposal is allowed)",
            required="a second person",
        )


def approver_needed(principal: Principal, account: str | None) -> ForbiddenError:
    held = principal.role_for(account or ANY_ACCOUNT)
    where = f" on {account!r}" if account else ""
    return ForbiddenError(
        "approving or rejecting an action needs the approver role on its account (an approver token, "
        f"KLAVIYO_MCP_APPROVER_TOKENS, or an approver grant in KLAVIYO_MCP_USERS_FILE); {principal.user} has "
        f"{held.value if held else 'no'} role{where}",
        required_role=Role.APPROVER.value,
        role=held.value if held else None,
    )


@approvals.post("/v1/actions/<action_id>/approve")
def approve(action_id: str) -> Response:
    return _decide(action_id, approve=True)


@approvals.post("/v1/actions/<action_id>/reject")
def reject(action_id: str) -> Response:
    return _decide(action_id, approve=False)

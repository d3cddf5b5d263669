"""The console's pages: sign-in, the queue, one proposal (approve / reject), the history.

Decisions go through ``approvals.decide``, the same call the REST approve route and the CLI make; the
approver recorded is the signed-in viewer's identity.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from api.console import access, present
from api.console.forms import DecisionForm, ResolveForm, SignInForm, SignOutForm
from klaviyo_analytics.actions import approvals, flow_guard, secret_env
from klaviyo_analytics.actions.models import Proposal, ProposalStatus, plan_hash, utc_now
from klaviyo_analytics.auth import Role
from klaviyo_analytics.errors import ConflictError, InvalidArgumentError, NotFoundError
from klaviyo_analytics.service import KlaviyoService

S = ProposalStatus
QUEUE_LIMIT = 200
HISTORY_LIMIT = 100
FINAL = (S.SUCCEEDED, S.FAILED, S.EXPIRED, S.REJECTED)

NAME = "console_pages"


def service() -> KlaviyoService:
    return current_app.extensions["klaviyo_service"]  # type: ignore[no-any-return]


def _safe_next(target: str | None) -> str:
    """Only a console path of this site: never an open redirect."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/") or "\\" in (target or ""):
        return url_for("console_pages.queue")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _visible() -> list[str]:
    viewer: access.Viewer = g.viewer
    return viewer.visible(service().registry.names)


def _account_filter() -> str | None:
    account = request.args.get("account") or None
    if account is not None and account not in _visible():
        abort(404, description=f"no account {account!r} that you may see")
    return account


def _listed(account: str | None, status: ProposalStatus, limit: int) -> list[Proposal]:
    """The viewer's accounts' proposals in one status, newest first."""
    visible = _visible()
    if account is not None or len(visible) == len(service().registry.names):
        return service().ledger.list_proposals(account=account, status=status, limit=limit)
    found = [p for a in visible for p in service().ledger.list_proposals(account=a, status=status, limit=limit)]
    return sorted(found, key=lambda p: p.created_at, reverse=True)[:limit]


def _proposal(action_id: str) -> Proposal:
    """The proposal, if the viewer may see its account; otherwise the same 404 as a missing one."""
    try:
        proposal = service().ledger.get_proposal(action_id)
    except NotFoundError:
        proposal = None
    viewer: access.Viewer = g.viewer
    if proposal is None or not viewer.can(proposal.account, Role.READER):
        abort(404, description=f"no action {action_id!r} that you may see")
    return proposal


def home() -> Response:
    return redirect(url_for("console_pages.queue"))


def sign_in() -> Any:
    form = SignInForm()
    error = None
    status = 401 if request.method == "POST" else 200
    if form.validate_on_submit():
        fields = {name: getattr(form, name).data or "" for name in ("token", "username", "password")}
        if not current_app.extensions["klaviyo_console_sign_in_limit"].allow(fields):
            error, status = "Too many sign-in attempts for this user. Wait a minute, then try again.", 429
            return render_template("console/sign_in.html", form=form, error=error), status
        viewer = access.sign_in(current_app.extensions["klaviyo_users"], fields)
        if viewer is not None:
            access.start_session(viewer, service().settings)
            return redirect(_safe_next(request.args.get("next")))
        error = "That token, or that user name and password, is not valid for this server."
    return render_template("console/sign_in.html", form=form, error=error), status


def sign_out() -> Response:
    if SignOutForm().validate_on_submit():
        access.end_session()  # server-side too: a copy of the cookie no longer signs anyone in
    return redirect(url_for("console_pages.sign_in"))


def queue() -> str:
    account = _account_filter()
    now = utc_now()
    pending = _listed(account, S.PENDING, QUEUE_LIMIT)
    approved = _listed(account, S.APPROVED, QUEUE_LIMIT) + _listed(account, S.NEEDS_ATTENTION, QUEUE_LIMIT)
    by_account: dict[str, list[Proposal]] = {}
    for proposal in pending:  # newest first, as the ledger lists them
        by_account.setdefault(proposal.account, []).append(proposal)
    return render_template(
        "console/queue.html",
        by_account=by_account,
        approved=approved,
        account=account,
        accounts=_visible(),
        left=lambda p: present.time_left(p.expires_at, now),
    )


def action(action_id: str) -> Any:
    return _render_action(action_id, DecisionForm())


def _render_action(
    action_id: str, form: DecisionForm, status: int = 200, resolve_form: ResolveForm | None = None
) -> Any:
    ledger = service().ledger
    _proposal(action_id)
    history = ledger.get_history(action_id)
    proposal, execution = history.proposal, history.execution
    shown_hash = plan_hash(proposal.plan)  # of the plan this page displays, never the stored column
    form.plan_hash.data = shown_hash
    return (
        render_template(
            "console/action.html",
            proposal=proposal,
            history=history,
            trace=ledger.get_trace(action_id),
            effects=present.effects(proposal.plan),
            existing=present.existing(proposal.plan),
            created=present.created_objects(proposal.plan, execution.created if execution else {}),
            left=present.time_left(proposal.expires_at, utc_now()),
            form=form,
            pending=proposal.status is S.PENDING,
            attention=proposal.status is S.NEEDS_ATTENTION,
            attention_step=(execution.error or {}).get("step_id") if execution else None,
            resolve_form=resolve_form or ResolveForm(),
            may_approve=g.viewer.may_approve(proposal.account),
            acknowledge=bool(flow_guard.required(proposal.plan)),
            plan_hash=shown_hash,
            secrets=secret_env.describe(proposal.plan),
        ),
        status,
    )


def decide(action_id: str) -> Any:
    viewer: access.Viewer = g.viewer
    proposal = _proposal(action_id)
    if not viewer.may_approve(proposal.account):
        abort(403, description=f"Your sign-in can read the proposals of {proposal.account!r} but not decide them.")
    if service().settings.require_second_approver and viewer.identity == proposal.proposed_by:
        abort(
            403,
            description="KLAVIYO_MCP_REQUIRE_SECOND_APPROVER is on: someone other than its proposer must decide this.",
        )
    form = DecisionForm()
    if not form.validate_on_submit() or not (form.approve.data or form.reject.data):
        return _render_action(action_id, form, 400)
    approve = bool(form.approve.data)
    acknowledge = [flow_guard.LIVE_FLOW_SENDS] if form.acknowledge.data else None
    try:
        proposal = approvals.decide(
            service().ledger, action_id, approve, viewer.identity, form.reason.data, acknowledge, form.plan_hash.data
        )
    except InvalidArgumentError as exc:
        if exc.field != "acknowledge":
            raise
        form.acknowledge.errors = [exc.message]
        return _render_action(action_id, form, 400)
    except ConflictError as exc:
        if exc.details.get("field") != "plan_hash":
            raise
        flash(f"Not approved: {exc.message}")
        return _render_action(action_id, DecisionForm(), 409)
    flash(f"{'Approved' if approve else 'Rejected'}. " + ("It runs when someone executes it." if approve else ""))
    return redirect(url_for("console_pages.action", action_id=proposal.id))


def resolve(action_id: str) -> Any:
    """Answer for the step a needs_attention action stopped on; approvers only, like decide."""
    viewer: access.Viewer = g.viewer
    proposal = _proposal(action_id)
    if not viewer.may_approve(proposal.account):
        abort(403, description=f"Your sign-in can read the proposals of {proposal.account!r} but not resolve them.")
    form = ResolveForm()
    choice = next((name for name in ("adopt", "none", "abandon") if getattr(form, name).data), None)
    if not form.validate_on_submit() or choice is None:
        return _render_action(action_id, DecisionForm(), 400, form)
    object_id = (form.object_id.data or "").strip() or None
    try:
        adopted = object_id if choice == "adopt" else None
        approvals.resolve(service().ledger, action_id, choice, viewer.identity, adopted, form.note.data)
    except InvalidArgumentError as exc:
        form.object_id.errors = [exc.message]
        return _render_action(action_id, DecisionForm(), 400, form)
    flash("Resolved. " + ("It resumes when someone executes it again." if choice != "abandon" else "It stops here."))
    return redirect(url_for("console_pages.action", action_id=action_id))


def history() -> str:
    account = _account_filter()
    ledger = service().ledger
    wanted = request.args.get("status")
    statuses = [s for s in FINAL if wanted in (None, "", s.value)]
    if not statuses:
        abort(404, description=f"history shows {', '.join(s.value for s in FINAL)}; not {wanted!r}")
    done = [p for s in statuses for p in _listed(account, s, HISTORY_LIMIT)]
    done.sort(key=lambda p: p.created_at, reverse=True)
    rows = []
    for proposal in done[:HISTORY_LIMIT]:
        record = ledger.get_history(proposal.id)
        results = record.execution.created if record.execution else {}
        rows.append(
            {
                "proposal": proposal,
                "record": record,
                "trace": ledger.get_trace(proposal.id),
                "created": present.created_objects(proposal.plan, results),
            }
        )
    return render_template(
        "console/history.html",
        rows=rows,
        account=account,
        accounts=_visible(),
        status=wanted or "",
        statuses=[s.value for s in FINAL],
    )


def blueprint() -> Blueprint:
    """A fresh blueprint per app (an app factory may build many apps in one process)."""
    bp = Blueprint(
        NAME, __name__, template_folder="templates", static_folder="static", static_url_path="/console/static"
    )
    bp.add_url_rule("/console", "home", home, strict_slashes=False)
    bp.add_url_rule("/console/sign-in", "sign_in", sign_in, methods=["GET", "POST"])
    bp.add_url_rule("/console/sign-out", "sign_out", sign_out, methods=["POST"])
    bp.add_url_rule("/console/queue", "queue", queue)
    bp.add_url_rule("/console/actions/<action_id>", "action", action)
    bp.add_url_rule("/console/actions/<action_id>/decide", "decide", decide, methods=["POST"])
    bp.add_url_rule("/console/actions/<action_id>/resolve", "resolve", resolve, methods=["POST"])
    bp.add_url_rule("/console/history", "history", history)
    return bp

"""Execute: run an approved proposal's stored plan exactly once.

    begin_execution (approved → executing, a lease)     the ledger refuses: pending, rejected,
      for each step not yet journaled "done":           expired, tampered, already run, busy
        resolve {"$ref"} from the journal
        a person resolved it? → "adopt": read that object back, journal it "done"
        a create? → list the same-named objects (the snapshot; a previous attempt that left
          "started" is judged against its own snapshot: adoption.py)
        journal "started" (with the snapshot), call Klaviyo (traced), journal "done" with the ids
      finish(ok)

A failure journals the step "failed" and finishes: retryable ones (5xx, timeouts, 429, the
deadline) put the proposal back to approved with the journal kept, so the next execute resumes
after the last completed step; the others fail it for good. A 5xx or a timeout may hide a create
that landed (Klaviyo has no idempotency keys), so such a step is checked before it is repeated —
at once, and again by any later attempt, which finds the "started" entry; a create is adopted only
when exactly one new object matching the plan appeared since its snapshot, and any doubt stops the
action in needs_attention for a person to resolve (never "succeeded"). A crash (no finish at
all) leaves the lease to run out; the next execute takes the execution over, journal intact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from klaviyo_analytics.actions import adoption, audit, events, flow_guard, plans, preconditions, secret_env
from klaviyo_analytics.actions.confirm import confirm_fn
from klaviyo_analytics.actions.ledger import STEP_ID_KEY, Ledger
from klaviyo_analytics.actions.models import ExecutionHandle, ProposalStatus, iso, utc_now
from klaviyo_analytics.errors import (
    ApprovalRequiredError,
    ConflictError,
    DeadlineExceededError,
    KlaviyoMCPError,
    MissingScopeError,
    NotFoundError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamError,
)
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.klaviyo.client import CallRecord
from klaviyo_analytics.schemas.actions import ActionParams, ActionView
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult

# The lease outlives the tool deadline, so no live executor ever loses it mid-step.
LEASE_MARGIN_SECONDS = 30.0


def ambiguous(exc: KlaviyoMCPError) -> bool:
    """Klaviyo may have applied the write: a 5xx, a timeout, a dropped or garbled answer."""
    if not isinstance(exc, UpstreamError) or isinstance(exc, RateLimitedError | MissingScopeError | UpstreamAuthError):
        return False
    status = exc.details.get("upstream_status")
    return status is None or int(status) >= 500


def retryable(exc: KlaviyoMCPError) -> bool:
    return ambiguous(exc) or isinstance(exc, RateLimitedError | DeadlineExceededError)


class StepFailed(Exception):
    def __init__(self, step_id: str, error: KlaviyoMCPError) -> None:
        super().__init__(step_id)
        self.step_id, self.error = step_id, error


class Run:
    """One execution attempt of one proposal, holding its lease."""

    def __init__(self, service: KlaviyoService, account: Account, handle: ExecutionHandle, ctx: CallContext) -> None:
        self.service, self.account, self.handle, self.ctx = service, account, handle, ctx
        self.ledger: Ledger = service.ledger
        self.pid = handle.proposal.id
        self.lease_seconds = service.settings.tool_deadline_seconds + LEASE_MARGIN_SECONDS
        self.results: dict[str, dict[str, Any]] = dict(handle.completed_steps)
        # steps journaled "started" and never "done": the call may have landed
        self.unconfirmed: set[str] = set()
        # step -> ids of same-named objects just before its first unconfirmed attempt (None: not taken)
        self.snapshots: dict[str, set[str] | None] = {}
        self.adopt: dict[str, str] = {}  # step -> the object a person said it made
        self.guarded: set[str] = set()  # steps whose flow guard this attempt has checked
        execution = self.ledger.get_execution(self.pid)
        for entry in execution.journal if execution else ():
            sid = entry.step_id
            if sid in self.results:
                continue
            if entry.status == "started" and sid not in self.unconfirmed:
                self.unconfirmed.add(sid)
                before = entry.result.get("before")
                self.snapshots[sid] = set(before) if isinstance(before, list) else None
            elif entry.status == "resolved":
                self.unconfirmed.discard(sid)  # the person looked: their answer replaces our doubt
                self.snapshots.pop(sid, None)
                self.adopt.pop(sid, None)  # the latest answer counts
                if entry.result.get("resolution") == "adopt":
                    self.adopt[sid] = str(entry.result["id"])

    def run(self) -> None:
        pending = [item for item in self.handle.proposal.plan if item[STEP_ID_KEY] not in self.results]
        for item in pending:  # before any write: a guard whose list exists already is checked first
            guard = flow_guard.guard_of(item)
            if guard is not None and not plans.has_refs(guard):
                self.guard(item[STEP_ID_KEY], guard)
        for item in self.handle.proposal.plan:
            if item[STEP_ID_KEY] not in self.results:
                self.ledger.renew_lease(self.pid, self.handle.lease_owner, self.lease_seconds)
                self.step(item)
        self.ledger.finish(self.pid, self.handle.lease_owner, succeeded=True)

    def step(self, item: dict[str, Any]) -> None:
        sid = item[STEP_ID_KEY]
        try:
            filled = plans.resolve({k: item.get(k) for k in ("path_params", "body", "check")}, self.results)
            path, check, body = plans.render_path(item["path"], filled["path_params"]), filled["check"], filled["body"]
            if sid in self.adopt:
                found, snapshot = self.adopted(sid, check), None
            else:
                found, snapshot = self.before_send(sid, check, body) if check else (None, None)
        except KlaviyoMCPError as exc:
            self.fail(sid, exc)
        if found is not None:
            return self.done(sid, item, found, adopted=True)
        guard = flow_guard.guard_of(item)
        if guard is not None and sid not in self.guarded:
            self.guard(sid, guard)
        if item.get("precondition") and self.precondition(sid, item["precondition"]) == "gone":
            return self.done(sid, item, None, adopted=True)  # an unconfirmed delete had landed
        started: dict[str, Any] = {"sent_at": iso(utc_now())}
        if snapshot is not None:
            started["before"] = sorted(snapshot)
        self.ledger.record_step(self.pid, sid, started, self.handle.lease_owner, "started")
        if sid not in self.unconfirmed:
            self.unconfirmed.add(sid)
            self.snapshots[sid] = snapshot
        try:
            # A named secret's value goes into the outgoing body only (redacted in the trace).
            document = self.call(sid, item["method"], path, body=secret_env.fill(item, body))
        except KlaviyoMCPError as exc:
            if not (ambiguous(exc) and check):
                self.fail(sid, exc)
            try:
                found = self.landed(sid, check, body)
            except KlaviyoMCPError as check_failed:
                self.fail(sid, check_failed)
            if found is None:
                self.fail(sid, exc)  # it did not land: the next attempt sends it again
            return self.done(sid, item, found, adopted=True)
        return self.done(sid, item, document.get("data") if isinstance(document, dict) else None)

    def guard(self, sid: str, guard: dict[str, Any]) -> None:
        """Re-read the list's live flows before a step that adds members (flow_guard)."""
        try:
            filled = plans.resolve(guard, self.results)
            flow_guard.check_before_step(_TracedReader(self, sid), filled)
        except KlaviyoMCPError as exc:
            self.fail(sid, exc)
        self.guarded.add(sid)

    def precondition(self, sid: str, precondition: dict[str, Any]) -> str:
        """Re-read what the step needs to hold (preconditions.py); "gone" counts only after an
        unconfirmed attempt of this very step, otherwise someone else removed the object."""
        try:
            state = preconditions.check(
                lambda path: self.call(sid, "GET", path), plans.resolve(precondition, self.results)
            )
            if state == "gone" and sid not in self.unconfirmed:
                raise NotFoundError("the object this step changes no longer exists; nothing was done")
        except KlaviyoMCPError as exc:
            self.fail(sid, exc)
        return state

    def fail(self, sid: str, exc: KlaviyoMCPError) -> NoReturn:
        self.ledger.record_step(self.pid, sid, {"error": exc.to_dict()}, self.handle.lease_owner, "failed")
        raise StepFailed(sid, exc)

    def done(self, sid: str, item: dict[str, Any], resource: Any, adopted: bool = False) -> None:
        result = plans.extract(item.get("returns"), resource)
        if adopted:
            result["found_existing"] = True  # an earlier, unconfirmed attempt had landed
        self.ledger.record_step(self.pid, sid, result, self.handle.lease_owner)
        self.results[sid] = result

    def tracer(self, sid: str) -> Callable[[CallRecord], None]:
        def trace(record: CallRecord) -> None:
            self.ledger.add_trace(
                self.pid, sid, record.method, record.path, record.body, record.status, record.latency_ms, record.error
            )

        return trace

    def call(self, sid: str, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        return self.service.client.request(
            self.account, method, path, params=params, body=body, deadline=self.ctx.deadline, cache_ttl=0,
            observer=self.tracer(sid),
        )  # fmt: skip

    def before_send(self, sid: str, check: dict[str, Any], body: Any) -> tuple[Any, set[str] | None]:
        """(what an earlier unconfirmed attempt made, or None; the snapshot to journal)."""
        if check["kind"] == "has_template":
            return (self.landed(sid, check, body) if sid in self.unconfirmed else None), None
        current = self.listing(sid, check)
        if sid in self.unconfirmed:
            found = adoption.judge(check, body, current, self.snapshots.get(sid))
            if found is not None:
                return found, None
        return None, {str(i.get("id")) for i in current}

    def landed(self, sid: str, check: dict[str, Any], body: Any) -> Any:
        """What an unconfirmed attempt of ``sid`` created, None if it did not land (adoption.py)."""
        if check["kind"] == "has_template":
            message = self.call(sid, "GET", plans.render_path(check["path"], check.get("path_params")))
            data = message.get("data") if isinstance(message, dict) else None
            return data if plans.dig(data, "relationships.template.data.id") else None
        return adoption.judge(check, body, self.listing(sid, check), self.snapshots.get(sid))

    def listing(self, sid: str, check: dict[str, Any]) -> list[dict[str, Any]]:
        """The objects named exactly as the check says, as Klaviyo holds them now."""
        items: list[Any] = []
        for page in self.service.client.paginate(
            self.account, check["path"], check.get("params"), deadline=self.ctx.deadline, cache_ttl=0,
            observer=self.tracer(sid),
        ):  # fmt: skip
            items += page.get("data") or []
        return adoption.same_named(items, check["name"])

    def adopted(self, sid: str, check: dict[str, Any]) -> Any:
        """The object a person said this step made, read back (with what later steps need)."""
        object_id = self.adopt[sid]
        include = (check.get("params") or {}).get("include")
        params = {"include": include} if include else None
        try:
            document = self.call(sid, "GET", f"{check['path']}/{object_id}", params=params)
        except NotFoundError:
            raise adoption.NeedsAttention(
                f"{object_id} does not exist in this account; resolve again with the id of what the step made.",
                candidates=[object_id],
            ) from None
        data = document.get("data") if isinstance(document, dict) else None
        if plans.dig(data, "attributes.name") != check["name"]:
            raise adoption.NeedsAttention(
                f"{object_id} is not named {check['name']!r}, so it is not what this step creates; resolve again.",
                candidates=[object_id],
            )
        return data


class _TracedReader:
    """flow_guard's reads during a run: uncached, traced under the step they guard."""

    def __init__(self, run: Run, sid: str) -> None:
        self.run, self.sid = run, sid

    def all(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        run = self.run
        items = run.service.client.get_all(
            run.account, path, params, deadline=run.ctx.deadline, cache_ttl=0, observer=run.tracer(self.sid)
        )
        return [i for i in items if isinstance(i, dict)]


def _confirm(service: KlaviyoService, ctx: CallContext, action_id: str, summary: str) -> None:
    ask = confirm_fn(ctx)
    if not service.settings.confirm_with_elicitation or ask is None:
        return  # the approval is the gate; this is only a second look where the client can ask
    if ask(f"Run approved action {action_id} now? {summary}") is False:
        raise ConflictError(
            f"The person declined to run action {action_id} now; it stays approved. Execute it when they are ready.",
            action_id=action_id,
        )


def _annotated(exc: KlaviyoMCPError, message: str, **details: Any) -> KlaviyoMCPError:
    exc.message = f"{exc.message} — {message}"
    exc.args = (exc.message,)
    exc.details.update({k: v for k, v in details.items() if v is not None})
    return exc


def resolve_hint(action_id: str) -> str:
    return (
        f"check in Klaviyo what the step made, then: python -m klaviyo_analytics actions resolve {action_id} "
        "--adopt <id> (it made that object) | --none (it made nothing: send it again) | --abandon; "
        "or use the console's action page"
    )


def _stop_for_a_person(service: KlaviyoService, action_id: str, lease_owner: str, failure: StepFailed) -> NoReturn:
    error = {**failure.error.to_dict(), "step_id": failure.step_id}
    service.ledger.finish(action_id, lease_owner, succeeded=False, error=error, attention=True)
    events.action_executed(service, action_id)
    raise _annotated(
        failure.error, f"step {failure.step_id!r}: {resolve_hint(action_id)}", action_id=action_id,
        status=ProposalStatus.NEEDS_ATTENTION.value, retryable=False,
        completed_steps=sorted(service.ledger.completed_steps(action_id)),
    ) from None  # fmt: skip


def execute_action(service: KlaviyoService, params: ActionParams, ctx: CallContext) -> ToolResult[ActionView]:
    ledger, settings = service.ledger, service.settings
    proposal = ledger.get_proposal(params.action_id)
    if proposal.status is ProposalStatus.PENDING:
        raise audit.approval_required(settings, proposal.id)
    account = service.account(proposal.account)
    if proposal.status in (ProposalStatus.APPROVED, ProposalStatus.EXECUTING):
        # Before any call: only declared secrets (plans stored before declarations existed are
        # refused), and each one set here.
        secret_env.check_plan(proposal.plan, proposal.id)
        for name in secret_env.required(proposal.plan):
            secret_env.value_of(name)
    if proposal.status is ProposalStatus.APPROVED:
        _confirm(service, ctx, proposal.id, proposal.summary)
    try:
        handle = ledger.begin_execution(
            proposal.id, executor=ctx.caller, lease_seconds=settings.tool_deadline_seconds + LEASE_MARGIN_SECONDS
        )
    except ApprovalRequiredError:
        raise audit.approval_required(settings, proposal.id) from None
    try:
        Run(service, account, handle, ctx).run()
    except StepFailed as failure:
        if isinstance(failure.error, adoption.NeedsAttention):
            _stop_for_a_person(service, proposal.id, handle.lease_owner, failure)
        again = retryable(failure.error)
        error = {**failure.error.to_dict(), "step_id": failure.step_id}
        error.pop("details", None)
        ledger.finish(proposal.id, handle.lease_owner, succeeded=False, error=error, retryable=again)
        events.action_executed(service, proposal.id)
        next_step = (
            "the action is back to approved with its journal: execute it again to resume after the last done step"
            if again
            else "the action failed and nothing after this step ran: read its trace (klaviyo_get_action)"
        )
        raise _annotated(
            failure.error, f"step {failure.step_id!r}: {next_step}", action_id=proposal.id,
            status=ProposalStatus.APPROVED.value if again else ProposalStatus.FAILED.value,
            retryable=again, completed_steps=sorted(ledger.completed_steps(proposal.id)),
        ) from None  # fmt: skip
    events.action_executed(service, proposal.id)
    return audit.result(ledger, settings, ledger.get_proposal(proposal.id))

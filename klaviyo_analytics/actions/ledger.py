"""The ledger interface, and the rules every backend enforces (not its callers).

    pending ──decide(approve)──▶ approved ──begin_execution──▶ executing ──finish(ok)──────▶ succeeded
       │  ╲                         │  ▲                           │  ╲
       │   decide(reject) ▶ rejected│  └── finish(retryable) ──────┘   finish(not ok) ──▶ failed
       └── expires_at passes ▶ expired ◀── expires_at passes, never begun
                                         (lazily, on read / list / decide / execute)

    executing ──finish(attention)──▶ needs_attention ──resolve(adopt | none)──▶ approved
                                                     └─resolve(abandon)───────▶ failed

``needs_attention``: a create whose answer was lost could not be proven to be ours or proven not
to have landed; only a person (``resolve``, from the CLI or the console) moves it on.

An approval is valid until the proposal's ``expires_at`` (created + KLAVIYO_MCP_ACTION_TTL_HOURS): a plan
approved but not begun by then expires like an undecided one, and must be proposed again. An
execution that has begun is never expired: ``executing`` (lease held, or lapsed and resumable)
and ``approved`` again after a retryable failure (journal kept) both finish what they started,
because stopping half way would strand what the plan already created in Klaviyo.

An ``executing`` proposal whose lease has run out (a crashed executor) is taken over by the next
``begin_execution``: same execution, journal intact. A live lease refuses a second executor.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from klaviyo_analytics.actions.models import (
    Execution,
    ExecutionHandle,
    ExecutionStatus,
    History,
    JournalEntry,
    Proposal,
    ProposalStatus,
    StepStatus,
    TraceEntry,
    canonical_json,
    iso,
    new_proposal_id,
    plan_hash,
)
from klaviyo_analytics.errors import (
    ApprovalRequiredError,
    ConflictError,
    ForbiddenError,
    InvalidArgumentError,
    KlaviyoMCPError,
)

S = ProposalStatus

DEFAULT_TTL = timedelta(hours=24)
STEP_ID_KEY = "step_id"  # every plan step is a dict naming itself under this key
MAX_LIST_LIMIT = 500
OBJECT_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")  # a Klaviyo resource id

TRANSITIONS: Mapping[ProposalStatus, frozenset[ProposalStatus]] = {
    S.PENDING: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED}),
    S.APPROVED: frozenset({S.EXECUTING, S.EXPIRED}),
    S.EXECUTING: frozenset({S.SUCCEEDED, S.FAILED, S.APPROVED, S.NEEDS_ATTENTION}),
    # resolved by a person: back to approved (resume with their answer) or failed (abandoned)
    S.NEEDS_ATTENTION: frozenset({S.APPROVED, S.FAILED}),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
}

# Header-like keys that must never reach the trace, whatever the caller already redacted.
_SECRET_KEYS = frozenset({"authorization", "proxy_authorization", "api_key", "apikey", "x_api_key"})


def check_transition(proposal_id: str, current: ProposalStatus, target: ProposalStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise ConflictError(
            f"Proposal {proposal_id} cannot move from {current} to {target}.",
            status=current.value,
            target=target.value,
        )


def expired_error(proposal_id: str, expires_at: datetime, *, approved: bool = False) -> ConflictError:
    why = "its approval held until then and it had not run" if approved else "without a decision"
    return ConflictError(
        f"Proposal {proposal_id} expired at {iso(expires_at)} {why}; propose the change again.",
        status=S.EXPIRED.value,
        expires_at=iso(expires_at),
    )


def expires_now(proposal: Proposal, begun: bool, now: datetime) -> bool:
    """Whether the proposal lapses at ``now``: pending, or approved and never ``begun`` (no
    execution row), past ``expires_at``. See the module docstring for why a begun one does not."""
    if now < proposal.expires_at:
        return False
    return proposal.status is S.PENDING or (proposal.status is S.APPROVED and not begun)


def decide_refusal(proposal: Proposal) -> KlaviyoMCPError | None:
    """Why this proposal cannot be approved or rejected now, or None if it can."""
    if proposal.status is S.PENDING:
        return None
    if proposal.status is S.EXPIRED:
        return expired_error(proposal.id, proposal.expires_at)
    return ConflictError(
        f"Proposal {proposal.id} is already {proposal.status}; only a pending proposal can be approved or rejected.",
        status=proposal.status.value,
    )


def own_approval_refusal(proposal: Proposal, approver: str) -> KlaviyoMCPError | None:
    """With KLAVIYO_MCP_REQUIRE_SECOND_APPROVER, the proposer may not approve their own proposal."""
    if approver != proposal.proposed_by:
        return None
    return ForbiddenError(
        f"Proposal {proposal.id} was proposed by {approver}, and KLAVIYO_MCP_REQUIRE_SECOND_APPROVER is on: another "
        "person must approve it (the proposer may still reject it).",
        proposed_by=approver,
    )


def execute_refusal(
    proposal: Proposal, lease: tuple[str, datetime] | None, now: datetime, *, was_approved: bool = False
) -> KlaviyoMCPError | None:
    """Why this proposal cannot start (or resume) executing now, or None if it can.

    ``lease`` is the current (executor, lease_expires_at), if any: a live lease refuses a second
    executor; a lapsed one means the executor crashed, and may be taken over. ``was_approved``
    words the refusal of an expired proposal that a person had approved.
    """
    pid, status = proposal.id, proposal.status
    if status is S.APPROVED:
        return None
    if status is S.EXECUTING:
        return None if lease is None or lease[1] <= now else busy_error(pid, *lease)
    if status is S.PENDING:
        return ApprovalRequiredError(
            f"Proposal {pid} needs a person's approval before it can run: an approver must approve "
            "it through the REST approve endpoint or the CLI.",
            status=status.value,
        )
    if status is S.EXPIRED:
        return expired_error(pid, proposal.expires_at, approved=was_approved)
    next_step = {
        S.NEEDS_ATTENTION: "a step stopped for a person to check in Klaviyo what it created; resolve it "
        f"first (python -m klaviyo_analytics actions resolve {pid} …, or the console).",
        S.REJECTED: "it was rejected; propose the change again if it is still wanted.",
        S.SUCCEEDED: "it already ran, and a plan runs exactly once.",
        S.FAILED: "it failed; read its trace, then propose the change again.",
    }[status]
    return ConflictError(f"Proposal {pid} is {status} and cannot be executed: {next_step}", status=status.value)


def busy_error(proposal_id: str, executor: str, lease_expires_at: datetime) -> ConflictError:
    return ConflictError(
        f"Proposal {proposal_id} is already executing ({executor} holds the lease until "
        f"{iso(lease_expires_at)}); wait for it to finish.",
        status=S.EXECUTING.value,
        lease_expires_at=iso(lease_expires_at),
    )


def lease_lost_error(proposal_id: str) -> ConflictError:
    return ConflictError(
        f"This executor no longer holds the lease on proposal {proposal_id} (it finished, or another "
        "executor took over after the lease ran out); stop without further upstream calls.",
    )


def tampered_error(proposal_id: str) -> ConflictError:
    return ConflictError(
        f"Proposal {proposal_id}'s stored plan no longer matches its hash: it was altered after it "
        "was proposed and will not run. Propose the change again.",
        status="tampered",
    )


def shown_hash_refusal(proposal: Proposal, shown_hash: str | None) -> KlaviyoMCPError | None:
    """An approval names the plan hash the approver was shown; the plan as stored now must hash to it
    (recomputed from the plan, never read from the plan_hash column an edit could rewrite too)."""
    if shown_hash is None or hmac.compare_digest(plan_hash(proposal.plan), shown_hash.strip().lower()):
        return None
    return ConflictError(
        f"Proposal {proposal.id}'s plan is not the one you were shown (plan_hash differs): it changed after you "
        "reviewed it, so it was not approved. Review it again.",
        field="plan_hash",
        status="plan_changed",
    )


def require_text(value: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{field} must be a non-empty string.", field=field)
    return value.strip()


def validate_plan(plan: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A non-empty list of step dicts, each with a unique non-empty ``step_id``."""
    if isinstance(plan, str | bytes) or not isinstance(plan, Sequence) or not plan:
        raise InvalidArgumentError("plan must be a non-empty list of steps.", field="plan")
    seen: set[str] = set()
    for index, step in enumerate(plan):
        step_id = step.get(STEP_ID_KEY) if isinstance(step, Mapping) else None
        if not isinstance(step_id, str) or not step_id:
            raise InvalidArgumentError(
                f"plan step {index} must be an object with a non-empty {STEP_ID_KEY!r}.", field="plan"
            )
        if step_id in seen:
            raise InvalidArgumentError(f"plan step id {step_id!r} appears twice.", field="plan")
        seen.add(step_id)
    return [dict(step) for step in plan]


def new_proposal(
    account: str,
    action: str,
    params: Mapping[str, Any],
    plan: Sequence[Mapping[str, Any]],
    summary: str,
    warnings: Sequence[str],
    proposed_by: str,
    now: datetime,
    ttl: timedelta,
) -> Proposal:
    """A validated pending proposal; params and plan are stored as their canonical JSON."""
    if ttl <= timedelta(0):
        raise InvalidArgumentError("ttl must be positive.", field="ttl")
    steps = validate_plan(plan)
    return Proposal(
        id=new_proposal_id(),
        account=require_text(account, "account"),
        action=require_text(action, "action"),
        params=json.loads(canonical_json(dict(params), "params")),
        plan=tuple(json.loads(canonical_json(steps, "plan"))),
        plan_hash=plan_hash(steps),
        summary=require_text(summary, "summary"),
        warnings=tuple(str(w) for w in warnings),
        status=S.PENDING,
        created_at=now,
        expires_at=now + ttl,
        proposed_by=require_text(proposed_by, "proposed_by"),
    )


def finish_target(
    succeeded: bool, error: Mapping[str, Any] | None, retryable: bool, attention: bool = False
) -> tuple[ProposalStatus, ExecutionStatus]:
    """Where ``finish`` moves the proposal and its execution; refuses contradictory input."""
    if succeeded:
        if error is not None or retryable or attention:
            raise InvalidArgumentError("A succeeded execution carries no error and is not retryable.", field="error")
        return S.SUCCEEDED, ExecutionStatus.SUCCEEDED
    if error is None:
        raise InvalidArgumentError("A failed execution must say why: pass error={code, message}.", field="error")
    if attention:
        if retryable or not isinstance(error.get("step_id"), str):
            raise InvalidArgumentError("needs_attention names its step and is not retryable.", field="error")
        return S.NEEDS_ATTENTION, ExecutionStatus.NEEDS_ATTENTION
    if retryable:
        return S.APPROVED, ExecutionStatus.AWAITING_RETRY
    return S.FAILED, ExecutionStatus.FAILED


RESOLUTIONS = ("adopt", "none", "abandon")


def resolution_target(resolution: str, object_id: str | None) -> tuple[ProposalStatus, ExecutionStatus]:
    """Where a person's ``resolve`` moves a needs_attention proposal; refuses bad input.

    ``adopt``: the step made ``object_id`` (the person checked in Klaviyo); ``none``: it made
    nothing, send it again; ``abandon``: stop here for good (what earlier steps made stays).
    """
    if resolution not in RESOLUTIONS:
        raise InvalidArgumentError(
            f"resolution must be one of {', '.join(RESOLUTIONS)}.", field="resolution", allowed=list(RESOLUTIONS)
        )
    if (resolution == "adopt") != (object_id is not None):
        raise InvalidArgumentError("adopt needs the id of the object the step made (and only adopt takes one).",
                                   field="object_id")  # fmt: skip
    if object_id is not None and not OBJECT_ID.match(object_id):
        raise InvalidArgumentError("object_id must be a Klaviyo id (1-64 letters and digits).", field="object_id")
    if resolution == "abandon":
        return S.FAILED, ExecutionStatus.FAILED
    return S.APPROVED, ExecutionStatus.AWAITING_RETRY


def attention_refusal(proposal: Proposal) -> KlaviyoMCPError | None:
    if proposal.status is S.NEEDS_ATTENTION:
        return None
    return ConflictError(
        f"Proposal {proposal.id} is {proposal.status}; only a proposal in needs_attention can be resolved.",
        status=proposal.status.value,
    )


def missing_steps(proposal: Proposal, done: Mapping[str, Any]) -> list[str]:
    """Plan steps not yet journaled as done, in plan order."""
    return [step[STEP_ID_KEY] for step in proposal.plan if step[STEP_ID_KEY] not in done]


def scrub_secrets(value: Any) -> Any:
    """Drop authorization/api-key entries at any depth of a JSON-like value."""
    if isinstance(value, Mapping):
        return {
            k: scrub_secrets(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.strip().lower().replace("-", "_") in _SECRET_KEYS)
        }
    if isinstance(value, list | tuple):
        return [scrub_secrets(v) for v in value]
    return value


class Ledger(Protocol):
    """Proposals, decisions, executions and traces — the seam a server database can implement.

    Every status change is atomic across processes; refusals raise the product's errors:
    NotFoundError (unknown id), ConflictError (wrong status, live lease, lost lease, tampered
    plan), ApprovalRequiredError (not approved yet), InvalidArgumentError (bad input).
    """

    def create_proposal(
        self,
        account: str,
        action: str,
        params: Mapping[str, Any],
        plan: Sequence[Mapping[str, Any]],
        summary: str,
        warnings: Sequence[str],
        proposed_by: str,
        ttl: timedelta | None = None,
    ) -> Proposal: ...

    def get_proposal(self, proposal_id: str) -> Proposal: ...

    def list_proposals(
        self, account: str | None = None, status: ProposalStatus | str | None = None, limit: int = 50
    ) -> list[Proposal]: ...

    def decide(
        self, proposal_id: str, approve: bool, approver: str, reason: str | None = None, shown_hash: str | None = None
    ) -> Proposal: ...

    def begin_execution(self, proposal_id: str, executor: str, lease_seconds: float) -> ExecutionHandle: ...

    def renew_lease(self, proposal_id: str, lease_owner: str, lease_seconds: float) -> datetime: ...

    def completed_steps(self, proposal_id: str) -> dict[str, dict[str, Any]]: ...

    def record_step(
        self,
        proposal_id: str,
        step_id: str,
        result: Mapping[str, Any],
        lease_owner: str,
        status: StepStatus = "done",
    ) -> JournalEntry: ...

    def add_trace(
        self,
        proposal_id: str,
        step_id: str | None,
        method: str,
        path: str,
        request_body: Any,
        status_code: int | None,
        latency_ms: float,
        error: str | None = None,
    ) -> TraceEntry: ...

    def finish(
        self,
        proposal_id: str,
        lease_owner: str,
        succeeded: bool,
        error: Mapping[str, Any] | None = None,
        retryable: bool = False,
        attention: bool = False,
    ) -> Proposal: ...

    def resolve(
        self, proposal_id: str, resolution: str, actor: str, object_id: str | None = None, note: str | None = None
    ) -> Proposal: ...

    def get_execution(self, proposal_id: str) -> Execution | None: ...

    def get_trace(self, proposal_id: str) -> list[TraceEntry]: ...

    def get_history(self, proposal_id: str) -> History: ...

    def ledger_health(self) -> dict[str, Any]: ...

"""``SqlLedger``: the ledger's rules written as SQL, one text for every backend, over a ``Database``.

``SqliteLedger`` runs it on one SQLite file (WAL), shared by every process on a machine (the file,
its connections and its schema are ``SqliteDatabase``'s, ``storage/sqlite_db``); ``PostgresLedger``
(``postgres_ledger``) on PostgreSQL. Every change runs in one ``BEGIN IMMEDIATE`` transaction, and
each status change is a conditional ``UPDATE … WHERE status = ?`` whose rowcount is checked.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from klaviyo_analytics.actions import ledger as rules
from klaviyo_analytics.actions import signing
from klaviyo_analytics.actions.models import (
    STEP_STATUSES,
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
    decision_from_row,
    execution_from_row,
    iso,
    journal_from_row,
    new_lease_owner,
    plan_hash,
    proposal_from_row,
    trace_from_row,
    transition_from_row,
    utc_now,
)
from klaviyo_analytics.errors import ConfigError, ConflictError, InvalidArgumentError, NotFoundError
from klaviyo_analytics.storage.sqlite_db import SqliteDatabase

S = ProposalStatus
E = ExecutionStatus

# The ledger's SQL is one text for both dialects; a database adapter (``postgres_ledger``) maps
# placeholders, and takes its row lock on exactly this statement inside a change.
PROPOSAL_ROW = "SELECT * FROM proposals WHERE id = ?"


class Database(Protocol):
    """Where the ledger's rows live: a SQLite file or a PostgreSQL database."""

    path: Path
    # How rows of one table sort in insertion order ("rowid" in SQLite, an identity elsewhere).
    insertion_order: str

    def tx(self, mode: str = "IMMEDIATE") -> AbstractContextManager[sqlite3.Connection]: ...

    def health(self) -> dict[str, object]: ...


class SqlLedger:
    """The ``Ledger``'s rules on a ``Database`` its subclass opens. ``clock`` is injectable so tests can move time."""

    def __init__(
        self,
        path: Path | str,
        clock: Callable[[], datetime] = utc_now,
        *,
        default_ttl: timedelta = rules.DEFAULT_TTL,
        busy_timeout: float = 10.0,
        approval_key: bytes | None = None,
        require_second_approver: bool = False,
    ) -> None:
        if default_ttl <= timedelta(0):
            raise ConfigError("The proposal TTL must be positive.", ttl_seconds=default_ttl.total_seconds())
        self._clock = clock
        self._default_ttl = default_ttl
        self.db: Database = self._open_database(path, busy_timeout)
        # None: KLAVIYO_MCP_APPROVAL_SECRET was not set; the per-user key file (``signing.load_key``).
        self._second_approver = require_second_approver
        self._approval_key = approval_key if approval_key is not None else signing.load_key()

    # -- plumbing ---------------------------------------------------------------------------------

    @staticmethod
    def _open_database(location: Path | str, timeout: float) -> Database:
        raise NotImplementedError  # SqliteLedger and PostgresLedger say where the rows live

    @property
    def path(self) -> Path:
        return self.db.path

    def _tx(self, mode: str = "IMMEDIATE") -> AbstractContextManager[sqlite3.Connection]:
        return self.db.tx(mode)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigError("The ledger clock must return timezone-aware datetimes.")
        return now

    @staticmethod
    def _row(conn: sqlite3.Connection, proposal_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(PROPOSAL_ROW, (proposal_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"No proposal with id {proposal_id!r}; list proposals to find it.", id=proposal_id)
        return row

    @staticmethod
    def _execution_row(conn: sqlite3.Connection, proposal_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM executions WHERE proposal_id = ?", (proposal_id,)
        ).fetchone()
        return row

    @staticmethod
    def _log(
        conn: sqlite3.Connection, pid: str, old: S | None, new: S, actor: str, at: datetime, note: str | None
    ) -> None:
        conn.execute(
            "INSERT INTO transitions (proposal_id, from_status, to_status, actor, at, note) VALUES (?,?,?,?,?,?)",
            (pid, old, new, actor, iso(at), note),
        )

    def _move(
        self, conn: sqlite3.Connection, pid: str, old: S, new: S, actor: str, now: datetime, note: str | None = None
    ) -> None:
        """The one way a status changes: allowed by the rules, conditional, audited."""
        rules.check_transition(pid, old, new)
        cur = conn.execute("UPDATE proposals SET status = ? WHERE id = ? AND status = ?", (new, pid, old))
        if cur.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; refuse rather than double-win
            raise ConflictError(f"Proposal {pid} changed status concurrently; reload it.", id=pid)
        self._log(conn, pid, old, new, actor, now, note)

    def _fresh(self, conn: sqlite3.Connection, pid: str, now: datetime) -> Proposal:
        """The proposal, expiring it first if it sat pending, or approved and never begun, past
        ``expires_at`` (``rules.expires_now``)."""
        proposal = proposal_from_row(self._row(conn, pid))
        begun = proposal.status is S.APPROVED and self._execution_row(conn, pid) is not None
        if rules.expires_now(proposal, begun, now):
            note = "no decision before expires_at" if proposal.status is S.PENDING else "not run before expires_at"
            self._move(conn, pid, proposal.status, S.EXPIRED, "system", now, note)
            proposal = proposal_from_row(self._row(conn, pid))
        return proposal

    @staticmethod
    def _was_approved(conn: sqlite3.Connection, pid: str) -> bool:
        row = conn.execute("SELECT approved FROM decisions WHERE proposal_id = ?", (pid,)).fetchone()
        return bool(row and row["approved"])

    @staticmethod
    def _verify_plan(proposal: Proposal) -> None:
        if plan_hash(proposal.plan) != proposal.plan_hash:
            raise rules.tampered_error(proposal.id)

    def _verify_approval(self, conn: sqlite3.Connection, proposal: Proposal) -> None:
        row = conn.execute("SELECT * FROM decisions WHERE proposal_id = ?", (proposal.id,)).fetchone()
        decision = None if row is None else (
            bool(row["approved"]), row["approver"], datetime.fromisoformat(row["decided_at"]), row["signature"]
        )  # fmt: skip
        signing.verify(self._approval_key, proposal, decision)

    @staticmethod
    def _journal(conn: sqlite3.Connection, pid: str) -> list[JournalEntry]:
        rows = conn.execute("SELECT * FROM journal WHERE proposal_id = ? ORDER BY seq", (pid,)).fetchall()
        return [journal_from_row(r) for r in rows]

    def _completed(self, conn: sqlite3.Connection, pid: str) -> dict[str, dict[str, Any]]:
        return {e.step_id: e.result for e in self._journal(conn, pid) if e.status == "done"}

    def _holder(self, conn: sqlite3.Connection, pid: str, lease_owner: str) -> tuple[Proposal, sqlite3.Row]:
        """The proposal and execution row, if ``lease_owner`` still holds the lease.

        An expired lease is still held until another executor takes it over, so a slow executor
        can journal a step it has already done instead of losing that fact.
        """
        proposal = proposal_from_row(self._row(conn, pid))
        exe = self._execution_row(conn, pid)
        if proposal.status is not S.EXECUTING or exe is None or exe["lease_owner"] != lease_owner:
            raise rules.lease_lost_error(pid)
        return proposal, exe

    # -- proposals and decisions ------------------------------------------------------------------

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
    ) -> Proposal:
        proposal = rules.new_proposal(
            account, action, params, plan, summary, warnings, proposed_by,
            now=self._now(), ttl=self._default_ttl if ttl is None else ttl,
        )  # fmt: skip
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO proposals (id, account, action, params, plan, plan_hash, summary, warnings, status,"
                " created_at, expires_at, proposed_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    proposal.id, proposal.account, proposal.action,
                    canonical_json(proposal.params, "params"), canonical_json(list(proposal.plan), "plan"),
                    proposal.plan_hash, proposal.summary, canonical_json(list(proposal.warnings), "warnings"),
                    proposal.status, iso(proposal.created_at), iso(proposal.expires_at), proposal.proposed_by,
                ),
            )  # fmt: skip
            self._log(conn, proposal.id, None, S.PENDING, proposal.proposed_by, proposal.created_at, None)
        return proposal

    def get_proposal(self, proposal_id: str) -> Proposal:
        now = self._now()
        with self._tx("DEFERRED") as conn:
            proposal = proposal_from_row(self._row(conn, proposal_id))
        if proposal.status in (S.PENDING, S.APPROVED) and now >= proposal.expires_at:
            with self._tx() as conn:
                proposal = self._fresh(conn, proposal_id, now)
        return proposal

    def list_proposals(
        self, account: str | None = None, status: ProposalStatus | str | None = None, limit: int = 50
    ) -> list[Proposal]:
        if status is not None and status not in set(S):
            raise InvalidArgumentError(f"Unknown status {status!r}.", field="status", allowed=[s.value for s in S])
        if not 1 <= limit <= rules.MAX_LIST_LIMIT:
            raise InvalidArgumentError(f"limit must be between 1 and {rules.MAX_LIST_LIMIT}.", field="limit")
        now = self._now()
        with self._tx("DEFERRED") as conn:
            due = conn.execute(
                "SELECT id FROM proposals WHERE expires_at <= ? AND (status = ? OR (status = ? AND NOT EXISTS"
                " (SELECT 1 FROM executions WHERE executions.proposal_id = proposals.id)))",
                (iso(now), S.PENDING, S.APPROVED),
            ).fetchall()
        if due:
            with self._tx() as conn:
                for row in due:
                    self._fresh(conn, row["id"], now)
        sql, args = "SELECT * FROM proposals WHERE 1 = 1", list[Any]()
        if account is not None:
            sql, args = sql + " AND account = ?", [*args, account]
        if status is not None:
            sql, args = sql + " AND status = ?", [*args, S(status).value]
        with self._tx("DEFERRED") as conn:
            # The order column is the database class's constant, never input.
            sql += f" ORDER BY created_at DESC, {self.db.insertion_order} DESC LIMIT ?"
            rows = conn.execute(sql, [*args, limit]).fetchall()
        return [proposal_from_row(r) for r in rows]

    def decide(
        self, proposal_id: str, approve: bool, approver: str, reason: str | None = None, shown_hash: str | None = None
    ) -> Proposal:
        approver = rules.require_text(approver, "approver")
        now = self._now()
        with self._tx() as conn:
            proposal = self._fresh(conn, proposal_id, now)
            refusal = rules.decide_refusal(proposal) or (
                rules.own_approval_refusal(proposal, approver) if approve and self._second_approver else None
            )
            if refusal is None and approve:  # read in this transaction: what is signed is what was shown
                refusal = rules.shown_hash_refusal(proposal, shown_hash)
            if refusal is None:
                if approve:
                    self._verify_plan(proposal)
                self._move(conn, proposal_id, S.PENDING, S.APPROVED if approve else S.REJECTED, approver, now, reason)
                signature = signing.sign(self._approval_key, proposal, approver, now) if approve else None
                conn.execute(
                    "INSERT INTO decisions (proposal_id, approved, approver, decided_at, reason, signature)"
                    " VALUES (?,?,?,?,?,?)",
                    (proposal_id, int(approve), approver, iso(now), reason, signature),
                )
                proposal = proposal_from_row(self._row(conn, proposal_id))
        if refusal is not None:  # raised after COMMIT, so a lazy expiry is kept
            raise refusal
        return proposal

    # -- execution --------------------------------------------------------------------------------

    def begin_execution(self, proposal_id: str, executor: str, lease_seconds: float) -> ExecutionHandle:
        executor = rules.require_text(executor, "executor")
        if lease_seconds <= 0:
            raise InvalidArgumentError("lease_seconds must be positive.", field="lease_seconds")
        now = self._now()
        owner, until = new_lease_owner(), now + timedelta(seconds=lease_seconds)
        with self._tx() as conn:
            proposal = self._fresh(conn, proposal_id, now)
            exe = self._execution_row(conn, proposal_id)
            lease = None if exe is None or exe["lease_expires_at"] is None else (
                exe["executor"], datetime.fromisoformat(exe["lease_expires_at"])
            )  # fmt: skip
            approved = proposal.status is S.EXPIRED and self._was_approved(conn, proposal_id)
            refusal = rules.execute_refusal(proposal, lease, now, was_approved=approved)
            if refusal is None:
                self._verify_plan(proposal)
                self._verify_approval(conn, proposal)
                if exe is not None and proposal.status is S.EXECUTING:
                    self._take_over(conn, exe, executor, owner, until, now)
                else:
                    self._start(conn, proposal_id, exe, executor, owner, until, now)
                handle = ExecutionHandle(
                    proposal=proposal_from_row(self._row(conn, proposal_id)),
                    executor=executor,
                    lease_owner=owner,
                    lease_expires_at=until,
                    attempt=self._execution_row(conn, proposal_id)["attempts"],  # type: ignore[index]
                    resumed=exe is not None,
                    completed_steps=self._completed(conn, proposal_id),
                )
        if refusal is not None:
            raise refusal
        return handle

    def _start(
        self, conn: sqlite3.Connection, pid: str, exe: sqlite3.Row | None, executor: str, owner: str,
        until: datetime, now: datetime,
    ) -> None:  # fmt: skip
        """approved → executing: a first attempt, or the next one after a retryable failure."""
        if exe is None:
            conn.execute(
                "INSERT INTO executions VALUES (?,?,?,?,?,?,?,?,?)",
                (pid, E.RUNNING, executor, 1, iso(now), None, None, owner, iso(until)),
            )
        else:  # same execution and journal; completed steps are skipped by the executor
            conn.execute(
                "UPDATE executions SET status = ?, executor = ?, attempts = attempts + 1, error = NULL,"
                " lease_owner = ?, lease_expires_at = ? WHERE proposal_id = ? AND status = ?",
                (E.RUNNING, executor, owner, iso(until), pid, E.AWAITING_RETRY),
            )
        self._move(conn, pid, S.APPROVED, S.EXECUTING, executor, now)

    def _take_over(
        self, conn: sqlite3.Connection, exe: sqlite3.Row, executor: str, owner: str, until: datetime, now: datetime
    ) -> None:
        """executing, lease lapsed (a crashed executor): the lease moves, the execution stays."""
        pid = exe["proposal_id"]
        cur = conn.execute(
            "UPDATE executions SET executor = ?, lease_owner = ?, lease_expires_at = ?"
            " WHERE proposal_id = ? AND lease_owner = ? AND status = ?",
            (executor, owner, iso(until), pid, exe["lease_owner"], E.RUNNING),
        )
        if cur.rowcount != 1:  # cannot happen under BEGIN IMMEDIATE; refuse rather than double-win
            raise ConflictError(f"Proposal {pid} changed concurrently; try again.", id=pid)
        self._log(
            conn, pid, S.EXECUTING, S.EXECUTING, executor, now, f"took over an expired lease from {exe['executor']}"
        )

    def renew_lease(self, proposal_id: str, lease_owner: str, lease_seconds: float) -> datetime:
        if lease_seconds <= 0:
            raise InvalidArgumentError("lease_seconds must be positive.", field="lease_seconds")
        until = self._now() + timedelta(seconds=lease_seconds)
        with self._tx() as conn:
            self._holder(conn, proposal_id, lease_owner)
            conn.execute(
                "UPDATE executions SET lease_expires_at = ? WHERE proposal_id = ? AND lease_owner = ?",
                (iso(until), proposal_id, lease_owner),
            )
        return until

    def completed_steps(self, proposal_id: str) -> dict[str, dict[str, Any]]:
        with self._tx("DEFERRED") as conn:
            self._row(conn, proposal_id)
            return self._completed(conn, proposal_id)

    def record_step(
        self,
        proposal_id: str,
        step_id: str,
        result: Mapping[str, Any],
        lease_owner: str,
        status: StepStatus = "done",
    ) -> JournalEntry:
        if status not in STEP_STATUSES:
            raise InvalidArgumentError(f"Unknown step status {status!r}.", field="status", allowed=list(STEP_STATUSES))
        body = canonical_json(dict(result), "result")
        now = self._now()
        with self._tx() as conn:
            proposal, exe = self._holder(conn, proposal_id, lease_owner)
            if step_id not in {step[rules.STEP_ID_KEY] for step in proposal.plan}:
                raise InvalidArgumentError(f"Proposal {proposal_id} has no step {step_id!r}.", field="step_id")
            if status == "done" and step_id in self._completed(conn, proposal_id):
                raise ConflictError(f"Step {step_id!r} of proposal {proposal_id} is already done.", step_id=step_id)
            conn.execute(
                "INSERT INTO journal (proposal_id, step_id, status, result, attempt, at) VALUES (?,?,?,?,?,?)",
                (proposal_id, step_id, status, body, exe["attempts"], iso(now)),
            )
        return JournalEntry(step_id, status, json.loads(body), exe["attempts"], now)

    def finish(
        self,
        proposal_id: str,
        lease_owner: str,
        succeeded: bool,
        error: Mapping[str, Any] | None = None,
        retryable: bool = False,
        attention: bool = False,
    ) -> Proposal:
        target, exe_status = rules.finish_target(succeeded, error, retryable, attention)
        error_text = None if error is None else canonical_json(dict(error), "error")
        now = self._now()
        with self._tx() as conn:
            proposal, exe = self._holder(conn, proposal_id, lease_owner)
            if succeeded and (missing := rules.missing_steps(proposal, self._completed(conn, proposal_id))):
                raise ConflictError(
                    f"Proposal {proposal_id} cannot succeed: steps {missing} are not journaled as done.",
                    missing_steps=missing,
                )
            finished = None if target in (S.APPROVED, S.NEEDS_ATTENTION) else iso(now)
            conn.execute(
                "UPDATE executions SET status = ?, finished_at = ?, error = ?, lease_owner = NULL,"
                " lease_expires_at = NULL WHERE proposal_id = ? AND lease_owner = ?",
                (exe_status, finished, error_text, proposal_id, lease_owner),
            )
            note = None if error is None else f"{error.get('code', 'error')}: {error.get('message', '')}"
            self._move(conn, proposal_id, S.EXECUTING, target, exe["executor"], now, note)
            return proposal_from_row(self._row(conn, proposal_id))

    def resolve(
        self, proposal_id: str, resolution: str, actor: str, object_id: str | None = None, note: str | None = None
    ) -> Proposal:
        """A person's answer for the step a needs_attention proposal stopped on (``rules``)."""
        actor = rules.require_text(actor, "actor")
        target, exe_status = rules.resolution_target(resolution, object_id)
        now = self._now()
        with self._tx() as conn:
            proposal = proposal_from_row(self._row(conn, proposal_id))
            if (refusal := rules.attention_refusal(proposal)) is not None:
                raise refusal
            exe = self._execution_row(conn, proposal_id)
            step_id = (json.loads(exe["error"] or "{}") if exe is not None else {}).get("step_id")
            if exe is None or not isinstance(step_id, str):
                raise ConflictError(f"Proposal {proposal_id} has no step waiting for a person.", id=proposal_id)
            answer = {"resolution": resolution, "id": object_id, "by": actor, "note": note}
            conn.execute(
                "INSERT INTO journal (proposal_id, step_id, status, result, attempt, at) VALUES (?,?,?,?,?,?)",
                (proposal_id, step_id, "resolved", canonical_json(answer, "result"), exe["attempts"], iso(now)),
            )
            conn.execute(
                "UPDATE executions SET status = ?, finished_at = ? WHERE proposal_id = ? AND status = ?",
                (exe_status, iso(now) if target is S.FAILED else None, proposal_id, E.NEEDS_ATTENTION),
            )
            said = f"{step_id}: {resolution}" + (f" {object_id}" if object_id else "") + (f" — {note}" if note else "")
            self._move(conn, proposal_id, S.NEEDS_ATTENTION, target, actor, now, said)
            return proposal_from_row(self._row(conn, proposal_id))

    # -- audit ------------------------------------------------------------------------------------

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
    ) -> TraceEntry:
        method = rules.require_text(method, "method").upper()
        path = rules.require_text(path, "path")
        if latency_ms < 0:
            raise InvalidArgumentError("latency_ms cannot be negative.", field="latency_ms")
        body = None if request_body is None else canonical_json(rules.scrub_secrets(request_body), "request_body")
        now = self._now()
        with self._tx() as conn:
            self._row(conn, proposal_id)
            seq = conn.execute(
                "INSERT INTO trace (proposal_id, step_id, method, path, request_body, status_code, latency_ms,"
                " at, error) VALUES (?,?,?,?,?,?,?,?,?) RETURNING seq",
                (proposal_id, step_id, method, path, body, status_code, float(latency_ms), iso(now), error),
            ).fetchone()[0]
        return TraceEntry(
            seq or 0, proposal_id, step_id, method, path, None if body is None else json.loads(body),
            status_code, float(latency_ms), now, error,
        )  # fmt: skip

    def get_execution(self, proposal_id: str) -> Execution | None:
        with self._tx("DEFERRED") as conn:
            self._row(conn, proposal_id)
            exe = self._execution_row(conn, proposal_id)
            return None if exe is None else execution_from_row(exe, self._journal(conn, proposal_id))

    def get_trace(self, proposal_id: str) -> list[TraceEntry]:
        with self._tx("DEFERRED") as conn:
            self._row(conn, proposal_id)
            rows = conn.execute("SELECT * FROM trace WHERE proposal_id = ? ORDER BY seq", (proposal_id,)).fetchall()
        return [trace_from_row(r) for r in rows]

    def get_history(self, proposal_id: str) -> History:
        proposal = self.get_proposal(proposal_id)  # applies a due expiry first
        with self._tx("DEFERRED") as conn:
            decision = conn.execute("SELECT * FROM decisions WHERE proposal_id = ?", (proposal_id,)).fetchone()
            moves = conn.execute(
                "SELECT * FROM transitions WHERE proposal_id = ? ORDER BY seq", (proposal_id,)
            ).fetchall()
        return History(
            proposal=proposal,
            decision=None if decision is None else decision_from_row(decision),
            transitions=tuple(transition_from_row(m) for m in moves),
            execution=self.get_execution(proposal_id),
        )

    def ledger_health(self) -> dict[str, Any]:
        now = iso(self._now())
        with self._tx("DEFERRED") as conn:
            counts = dict(conn.execute("SELECT status, COUNT(*) FROM proposals GROUP BY status").fetchall())
            stale = conn.execute(
                "SELECT COUNT(*) FROM executions WHERE status = ? AND lease_expires_at <= ?", (E.RUNNING, now)
            ).fetchone()[0]
        return {
            **self.db.health(),
            "proposals": {s.value: counts.get(s.value, 0) for s in S},
            "stale_leases": stale,  # executing with a lapsed lease: a crashed executor to resume
        }


class SqliteLedger(SqlLedger):
    """The ``Ledger`` on one SQLite file: ``SqlLedger``'s rules on a ``SqliteDatabase``."""

    @staticmethod
    def _open_database(location: Path | str, timeout: float) -> Database:
        return SqliteDatabase(Path(location), timeout)


if TYPE_CHECKING:  # mypy proves SqlLedger implements the whole Ledger protocol
    _conforms: rules.Ledger = SqliteLedger(Path())

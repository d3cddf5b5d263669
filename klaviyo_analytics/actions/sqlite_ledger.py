"""``SqliteLedger``: the ledger in one SQLite file (WAL), shared by every process on a machine.

Each call opens its own short-lived connection (safe across threads and gunicorn's fork) and
closes it. Every change runs in ``BEGIN IMMEDIATE`` — the write lock is taken before the status
is read, so busy waits go through ``busy_timeout`` instead of failing on a read→write upgrade — and
each status change is a conditional ``UPDATE … WHERE status = ?`` whose rowcount is checked.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from klaviyo_analytics.actions import ledger as rules
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

S = ProposalStatus
E = ExecutionStatus

# MIGRATIONS[n] takes the schema from version n to n + 1. Append; never edit a shipped entry.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE proposals (
            id TEXT PRIMARY KEY, account TEXT NOT NULL, action TEXT NOT NULL, params TEXT NOT NULL,
            plan TEXT NOT NULL, plan_hash TEXT NOT NULL, summary TEXT NOT NULL, warnings TEXT NOT NULL,
            status TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
            proposed_by TEXT NOT NULL)""",
        "CREATE INDEX proposals_by_account ON proposals (account, created_at)",
        "CREATE INDEX proposals_by_status ON proposals (status, expires_at)",
        """CREATE TABLE decisions (
            proposal_id TEXT PRIMARY KEY REFERENCES proposals (id), approved INTEGER NOT NULL,
            approver TEXT NOT NULL, decided_at TEXT NOT NULL, reason TEXT)""",
        """CREATE TABLE executions (
            proposal_id TEXT PRIMARY KEY REFERENCES proposals (id), status TEXT NOT NULL,
            executor TEXT NOT NULL, attempts INTEGER NOT NULL, started_at TEXT NOT NULL,
            finished_at TEXT, error TEXT, lease_owner TEXT, lease_expires_at TEXT)""",
        """CREATE TABLE journal (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, proposal_id TEXT NOT NULL REFERENCES proposals (id),
            step_id TEXT NOT NULL, status TEXT NOT NULL, result TEXT NOT NULL, attempt INTEGER NOT NULL,
            at TEXT NOT NULL)""",
        # A step is done at most once, whatever a caller does: the database says so too.
        "CREATE UNIQUE INDEX journal_done_once ON journal (proposal_id, step_id) WHERE status = 'done'",
        """CREATE TABLE trace (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, proposal_id TEXT NOT NULL REFERENCES proposals (id),
            step_id TEXT, method TEXT NOT NULL, path TEXT NOT NULL, request_body TEXT,
            status_code INTEGER, latency_ms REAL NOT NULL, at TEXT NOT NULL, error TEXT)""",
        "CREATE INDEX trace_by_proposal ON trace (proposal_id, seq)",
        """CREATE TABLE transitions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, proposal_id TEXT NOT NULL REFERENCES proposals (id),
            from_status TEXT, to_status TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL, note TEXT)""",
        "CREATE INDEX transitions_by_proposal ON transitions (proposal_id, seq)",
    ),
)


class SqliteLedger:
    """The ``Ledger`` on SQLite. ``clock`` is injectable so tests can move time."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], datetime] = utc_now,
        *,
        default_ttl: timedelta = rules.DEFAULT_TTL,
        busy_timeout: float = 10.0,
    ) -> None:
        if default_ttl <= timedelta(0):
            raise ConfigError("The proposal TTL must be positive.", ttl_seconds=default_ttl.total_seconds())
        self.path = Path(path)
        self._clock = clock
        self._default_ttl = default_ttl
        self._busy_timeout = busy_timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"Cannot create the ledger directory {self.path.parent}: {exc}") from exc
        self._open()

    # -- plumbing ---------------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._mapped(exc) from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL; fsync at checkpoints
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        except sqlite3.Error as exc:
            raise self._mapped(exc) from exc
        finally:
            conn.close()

    @contextmanager
    def _tx(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """A transaction: IMMEDIATE for changes, DEFERRED for a consistent multi-table read."""
        with self._connect() as conn:
            conn.execute(f"BEGIN {mode}")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _mapped(self, exc: sqlite3.Error) -> ConflictError | ConfigError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return ConflictError(
                "The action ledger is busy (another process holds its write lock); try again.",
                path=str(self.path),
            )
        return ConfigError(f"The action ledger at {self.path} cannot be used: {text}", path=str(self.path))

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        # WAL is persistent in the file, so this is a no-op after the first open. Switching a fresh
        # file needs an exclusive lock, and while another process holds a write lock on it SQLite
        # answers "locked" at once, without its busy handler: retry until busy_timeout instead.
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.005)
                continue
            if mode != "wal":  # e.g. ":memory:", which no second process could share anyway
                raise ConfigError(f"The ledger at {self.path} cannot use WAL mode (got {mode}).", path=str(self.path))
            return

    def _open(self) -> None:
        with self._connect() as conn:
            self._enable_wal(conn)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            if current > len(MIGRATIONS):
                conn.execute("ROLLBACK")
                raise ConfigError(
                    f"The ledger at {self.path} has schema version {current}, newer than this release "
                    f"understands ({len(MIGRATIONS)}); upgrade klaviyo-mcp.",
                )
            for version, statements in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in statements:
                    conn.execute(statement)
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigError("The ledger clock must return timezone-aware datetimes.")
        return now

    @staticmethod
    def _row(conn: sqlite3.Connection, proposal_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute("SELECT * FROM proposals WHERE id = ?", (proposal_id,)).fetchone()
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
        """The proposal, expiring it first if it sat pending past ``expires_at``."""
        proposal = proposal_from_row(self._row(conn, pid))
        if proposal.status is S.PENDING and now >= proposal.expires_at:
            self._move(conn, pid, S.PENDING, S.EXPIRED, "system", now, "no decision before expires_at")
            proposal = proposal_from_row(self._row(conn, pid))
        return proposal

    @staticmethod
    def _verify_plan(proposal: Proposal) -> None:
        if plan_hash(proposal.plan) != proposal.plan_hash:
            raise rules.tampered_error(proposal.id)

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
                "INSERT INTO proposals VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
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
        if proposal.status is S.PENDING and now >= proposal.expires_at:
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
                "SELECT id FROM proposals WHERE status = ? AND expires_at <= ?", (S.PENDING, iso(now))
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
            rows = conn.execute(sql + " ORDER BY created_at DESC, rowid DESC LIMIT ?", [*args, limit]).fetchall()
        return [proposal_from_row(r) for r in rows]

    def decide(self, proposal_id: str, approve: bool, approver: str, reason: str | None = None) -> Proposal:
        approver = rules.require_text(approver, "approver")
        now = self._now()
        with self._tx() as conn:
            proposal = self._fresh(conn, proposal_id, now)
            refusal = rules.decide_refusal(proposal)
            if refusal is None:
                if approve:
                    self._verify_plan(proposal)
                self._move(conn, proposal_id, S.PENDING, S.APPROVED if approve else S.REJECTED, approver, now, reason)
                conn.execute(
                    "INSERT INTO decisions VALUES (?,?,?,?,?)", (proposal_id, int(approve), approver, iso(now), reason)
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
            refusal = rules.execute_refusal(proposal, lease, now)
            if refusal is None:
                self._verify_plan(proposal)
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
    ) -> Proposal:
        target, exe_status = rules.finish_target(succeeded, error, retryable)
        error_text = None if error is None else canonical_json(dict(error), "error")
        now = self._now()
        with self._tx() as conn:
            proposal, exe = self._holder(conn, proposal_id, lease_owner)
            if succeeded and (missing := rules.missing_steps(proposal, self._completed(conn, proposal_id))):
                raise ConflictError(
                    f"Proposal {proposal_id} cannot succeed: steps {missing} are not journaled as done.",
                    missing_steps=missing,
                )
            finished = None if target is S.APPROVED else iso(now)
            conn.execute(
                "UPDATE executions SET status = ?, finished_at = ?, error = ?, lease_owner = NULL,"
                " lease_expires_at = NULL WHERE proposal_id = ? AND lease_owner = ?",
                (exe_status, finished, error_text, proposal_id, lease_owner),
            )
            note = None if error is None else f"{error.get('code', 'error')}: {error.get('message', '')}"
            self._move(conn, proposal_id, S.EXECUTING, target, exe["executor"], now, note)
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
            cur = conn.execute(
                "INSERT INTO trace (proposal_id, step_id, method, path, request_body, status_code, latency_ms,"
                " at, error) VALUES (?,?,?,?,?,?,?,?,?)",
                (proposal_id, step_id, method, path, body, status_code, float(latency_ms), iso(now), error),
            )
            seq = cur.lastrowid
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
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
            counts = dict(conn.execute("SELECT status, COUNT(*) FROM proposals GROUP BY status").fetchall())
            stale = conn.execute(
                "SELECT COUNT(*) FROM executions WHERE status = ? AND lease_expires_at <= ?", (E.RUNNING, now)
            ).fetchone()[0]
        return {
            "backend": "sqlite",
            "path": str(self.path),
            "journal_mode": mode,
            "schema_version": version,
            "proposals": {s.value: counts.get(s.value, 0) for s in S},
            "stale_leases": stale,  # executing with a lapsed lease: a crashed executor to resume
        }


if TYPE_CHECKING:  # mypy proves SqliteLedger implements the whole Ledger protocol
    _conforms: rules.Ledger = SqliteLedger(Path())

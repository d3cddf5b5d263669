"""State of the embedded authorization server: clients, pending logins, codes, grants, refresh tokens.

One SQLite file (KLAVIYO_MCP_OAUTH_STATE_PATH) shared by every process of the server on one machine, or, with
``KLAVIYO_MCP_LEDGER_URL``, the ``oauth`` schema of that PostgreSQL database (``oauth_pg``), so any instance on
any machine can finish a login another began. Nothing secret is stored as itself: codes, login ids
and refresh tokens are kept as SHA-256 digests (they are random, 256-bit values, so a plain digest
cannot be reversed), and client secrets are not stored at all (they are derived from the signing
key; see keys.client_secret). Console sessions live here too (``console_sessions``): a session is
valid only while its row exists, so signing out ends it on every worker and machine.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from klaviyo_analytics.auth.oauth_interface import OAuthStore
from klaviyo_analytics.clock import SYSTEM_CLOCK, Clock
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.storage.sqlite_tx import transaction

# {time}: a Unix timestamp column (SQLite's REAL is a double; PostgreSQL's REAL would be a float4).
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS clients (client_id TEXT PRIMARY KEY, metadata TEXT NOT NULL, created_at {time})",
    """CREATE TABLE IF NOT EXISTS pending (id_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL,
        params TEXT NOT NULL, expires_at {time} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS codes (code_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL,
        data TEXT NOT NULL, expires_at {time} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS grants (grant_id TEXT PRIMARY KEY, client_id TEXT NOT NULL,
        subject TEXT NOT NULL, scopes TEXT NOT NULL, resource TEXT, revoked INTEGER NOT NULL DEFAULT 0,
        expires_at {time} NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS refresh_tokens (token_hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL,
        expires_at {time} NOT NULL, used INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS console_sessions (sid_hash TEXT PRIMARY KEY, expires_at {time} NOT NULL)""",
)
# Columns added after the first release: (table, column, type); each store adds the missing ones.
ADDED_COLUMNS = (("refresh_tokens", "used_at", "{time}"),)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Grant:
    grant_id: str
    client_id: str
    subject: str
    scopes: list[str]
    resource: str | None
    expires_at: float


class SqliteOAuthStore:
    """The ``OAuthStore`` on SQLite; ``oauth_pg.PostgresOAuthStore`` runs the same SQL on PostgreSQL."""

    # Expiries are shared with other processes (and PyJWT checks them on the real clock): shared time.
    clock: Clock = SYSTEM_CLOCK

    def __init__(self, path: Path, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._tx() as conn:
                for statement in SCHEMA:
                    conn.execute(statement.format(time="REAL"))
                for table, column, kind in ADDED_COLUMNS:
                    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                    if column not in have:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind.format(time='REAL')}")
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"The OAuth state file {self.path} cannot be used: {exc}", variable="KLAVIYO_MCP_OAUTH_STATE_PATH"
            ) from None
        self.path.chmod(0o600)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            with transaction(conn):
                yield conn
        finally:
            conn.close()

    # Clients (RFC 7591 registrations; the metadata holds no secret).
    def put_client(self, client_id: str, metadata: dict[str, Any]) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO clients VALUES (?, ?, ?)", (client_id, json.dumps(metadata), self.clock.shared_time())
            )

    def purge_unused_clients(self, registered_before: float) -> int:
        """Delete registrations older than ``registered_before`` that never completed an authorization
        (no grant was ever made for them): an abandoned or abusive /register leaves nothing behind."""
        with self._tx() as conn:
            return int(
                conn.execute(
                    "DELETE FROM clients WHERE created_at < ? AND NOT EXISTS"
                    " (SELECT 1 FROM grants WHERE grants.client_id = clients.client_id)",
                    (registered_before,),
                ).rowcount
            )

    def get_client(self, client_id: str) -> dict[str, Any] | None:
        with self._tx() as conn:
            row = conn.execute("SELECT metadata FROM clients WHERE client_id = ?", (client_id,)).fetchone()
        return json.loads(row[0]) if row else None

    # Pending logins: an /authorize request waiting for the user at the login page.
    def put_pending(self, client_id: str, params: dict[str, Any], ttl: float) -> str:
        login_id = new_secret()
        with self._tx() as conn:
            conn.execute("DELETE FROM pending WHERE expires_at < ?", (self.clock.shared_time(),))
            conn.execute(
                "INSERT INTO pending VALUES (?, ?, ?, ?)",
                (digest(login_id), client_id, json.dumps(params), self.clock.shared_time() + ttl),
            )
        return login_id

    def get_pending(self, login_id: str) -> tuple[str, dict[str, Any]] | None:
        with self._tx() as conn:
            row = conn.execute(
                "SELECT client_id, params FROM pending WHERE id_hash = ? AND expires_at >= ?",
                (digest(login_id), self.clock.shared_time()),
            ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def take_pending(self, login_id: str) -> tuple[str, dict[str, Any]] | None:
        """The pending login, removed: one login answers one /authorize request."""
        with self._tx() as conn:
            row = conn.execute(
                "DELETE FROM pending WHERE id_hash = ? AND expires_at >= ? RETURNING client_id, params",
                (digest(login_id), self.clock.shared_time()),
            ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    # Authorization codes: single use (taken by the token exchange).
    def put_code(self, code: str, client_id: str, data: dict[str, Any], expires_at: float) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM codes WHERE expires_at < ?", (self.clock.shared_time(),))
            conn.execute(
                "INSERT INTO codes VALUES (?, ?, ?, ?)", (digest(code), client_id, json.dumps(data), expires_at)
            )

    def get_code(self, code: str) -> tuple[dict[str, Any], float] | None:
        """(data, expiry) of a code that has not expired."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT data, expires_at FROM codes WHERE code_hash = ? AND expires_at >= ?",
                (digest(code), self.clock.shared_time()),
            ).fetchone()
        return (json.loads(row[0]), float(row[1])) if row else None

    def take_code(self, code: str) -> bool:
        """Remove a live code; False if it was taken already or has expired (the lifetime holds here too)."""
        with self._tx() as conn:
            cursor = conn.execute(
                "DELETE FROM codes WHERE code_hash = ? AND expires_at >= ?", (digest(code), self.clock.shared_time())
            )
            return cursor.rowcount == 1

    # Grants: one per completed login; access and refresh tokens point at it, so revoking it ends both.
    def put_grant(self, grant: Grant) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO grants VALUES (?, ?, ?, ?, ?, 0, ?)",
                (
                    grant.grant_id,
                    grant.client_id,
                    grant.subject,
                    " ".join(grant.scopes),
                    grant.resource,
                    grant.expires_at,
                ),
            )

    def live_grant(self, grant_id: str) -> Grant | None:
        with self._tx() as conn:
            row = conn.execute(
                "SELECT grant_id, client_id, subject, scopes, resource, expires_at FROM grants"
                " WHERE grant_id = ? AND revoked = 0 AND expires_at >= ?",
                (grant_id, self.clock.shared_time()),
            ).fetchone()
        if row is None:
            return None
        return Grant(row[0], row[1], row[2], row[3].split() if row[3] else [], row[4], row[5])

    def revoke_grant(self, grant_id: str) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE grants SET revoked = 1 WHERE grant_id = ?", (grant_id,))
            conn.execute("DELETE FROM refresh_tokens WHERE grant_id = ?", (grant_id,))

    # Refresh tokens, rotated: each is used once; presenting a used one revokes its whole grant (theft).
    def put_refresh(self, token: str, grant_id: str, expires_at: float) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO refresh_tokens (token_hash, grant_id, expires_at, used) VALUES (?, ?, ?, 0)",
                (digest(token), grant_id, expires_at),
            )

    def refresh_grant(self, token: str) -> tuple[str, float, float | None] | None:
        """(grant id, expiry, when it was used or None) of a refresh token."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT grant_id, expires_at, used, used_at FROM refresh_tokens WHERE token_hash = ?", (digest(token),)
            ).fetchone()
        if row is None:
            return None
        # A token used before used_at existed counts as used long ago: a replay, not a race.
        return row[0], row[1], (float(row[3] or 0.0) if row[2] else None)

    def use_refresh(self, token: str) -> bool:
        """Mark a refresh token used (and when); False if another request used it first."""
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE refresh_tokens SET used = 1, used_at = ? WHERE token_hash = ? AND used = 0",
                (self.clock.shared_time(), digest(token)),
            )
            return cursor.rowcount == 1

    # Console sessions: the cookie carries a random id; the session lives while its row does.
    def start_session(self, ttl: float) -> str:
        sid = new_secret()
        with self._tx() as conn:
            conn.execute("DELETE FROM console_sessions WHERE expires_at < ?", (self.clock.shared_time(),))
            conn.execute("INSERT INTO console_sessions VALUES (?, ?)", (digest(sid), self.clock.shared_time() + ttl))
        return sid

    def session_live(self, sid: str) -> bool:
        with self._tx() as conn:
            row = conn.execute(
                "SELECT 1 FROM console_sessions WHERE sid_hash = ? AND expires_at >= ?",
                (digest(sid), self.clock.shared_time()),
            ).fetchone()
        return row is not None

    def end_session(self, sid: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM console_sessions WHERE sid_hash = ?", (digest(sid),))


def open_oauth_store(settings: Settings) -> OAuthStore:
    """KLAVIYO_MCP_OAUTH_STATE_PATH if set; else the ledger's PostgreSQL database if KLAVIYO_MCP_LEDGER_URL is;
    else the data dir."""
    if settings.ledger_url and not settings.oauth_state_path:
        if not settings.oauth_signing_key:
            # Shared state with a per-machine key would fail logins and tokens on every other instance.
            raise ConfigError(
                "The OAuth state is shared in PostgreSQL (KLAVIYO_MCP_LEDGER_URL), so every instance must sign "
                "with one key: set KLAVIYO_MCP_OAUTH_SIGNING_KEY (python -m klaviyo_analytics users signing-key "
                "prints one for .env).",
                variable="KLAVIYO_MCP_OAUTH_SIGNING_KEY",
            )
        from klaviyo_analytics.auth.oauth_pg import PostgresOAuthStore

        return PostgresOAuthStore(settings.ledger_url)
    return SqliteOAuthStore(settings.resolved_oauth_state_path)


def open_session_store(settings: Settings) -> OAuthStore:
    """Where the REST app keeps console sessions: the OAuth state's database (PostgreSQL with
    KLAVIYO_MCP_LEDGER_URL, so every instance sees a sign-out), else KLAVIYO_MCP_OAUTH_STATE_PATH, else a
    file beside the ledger."""
    if settings.ledger_url and not settings.oauth_state_path:
        from klaviyo_analytics.auth.oauth_pg import PostgresOAuthStore

        return PostgresOAuthStore(settings.ledger_url)
    return SqliteOAuthStore(
        settings.oauth_state_path or settings.resolved_ledger_path.parent / "console-sessions.sqlite3"
    )


# ``OAuthStore`` was this module's SQLite class until the interface took the name; importers of the
# type keep working, and the SQLite backend is ``SqliteOAuthStore``.
__all__ = ["Grant", "OAuthStore", "SqliteOAuthStore", "open_oauth_store", "open_session_store"]

"""``OAuthStore``: the embedded authorization server's state, whatever holds it.

Two backends implement it side by side: ``oauth_store.SqliteOAuthStore`` (one file, shared by the
processes of one machine) and ``oauth_pg.PostgresOAuthStore`` (the ``oauth`` schema of the ledger's
database, shared by every machine). Both pass one contract suite, tests/auth/test_oauth_store_contract.py;
``oauth_store.open_oauth_store`` picks one and is typed to this interface.

Times are Unix seconds on the shared clock (``clock.shared_time``). Secrets handed out (login ids,
codes, refresh tokens, session ids) are stored as digests only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from klaviyo_analytics.auth.oauth_store import Grant
    from klaviyo_analytics.clock import Clock


class OAuthStore(Protocol):
    """Clients, pending logins, codes, grants, rotated refresh tokens and console sessions."""

    clock: Clock

    # Clients (RFC 7591 registrations).
    def put_client(self, client_id: str, metadata: dict[str, Any]) -> None: ...

    def get_client(self, client_id: str) -> dict[str, Any] | None: ...

    def purge_unused_clients(self, registered_before: float) -> int:
        """Delete registrations made before ``registered_before`` that never got a grant; how many."""
        ...

    # Pending logins: a new random id per /authorize request, live for ``ttl`` seconds.
    def put_pending(self, client_id: str, params: dict[str, Any], ttl: float) -> str: ...

    def get_pending(self, login_id: str) -> tuple[str, dict[str, Any]] | None: ...

    def take_pending(self, login_id: str) -> tuple[str, dict[str, Any]] | None:
        """The live pending login, removed: a second take gets None."""
        ...

    # Authorization codes: single use, and dead after ``expires_at``.
    def put_code(self, code: str, client_id: str, data: dict[str, Any], expires_at: float) -> None: ...

    def get_code(self, code: str) -> tuple[dict[str, Any], float] | None: ...

    def take_code(self, code: str) -> bool:
        """True exactly once per live code."""
        ...

    # Grants: revoking one ends its refresh tokens too.
    def put_grant(self, grant: Grant) -> None: ...

    def live_grant(self, grant_id: str) -> Grant | None: ...

    def revoke_grant(self, grant_id: str) -> None: ...

    # Refresh tokens, rotated: each used once.
    def put_refresh(self, token: str, grant_id: str, expires_at: float) -> None: ...

    def refresh_grant(self, token: str) -> tuple[str, float, float | None] | None:
        """(grant id, expiry, when it was used or None)."""
        ...

    def use_refresh(self, token: str) -> bool:
        """Mark the token used; True for exactly one caller."""
        ...

    # Console sessions: live while their row is.
    def start_session(self, ttl: float) -> str: ...

    def session_live(self, sid: str) -> bool: ...

    def end_session(self, sid: str) -> None: ...


__all__ = ["OAuthStore"]

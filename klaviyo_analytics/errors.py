"""The product's one error tree.

Every failure a caller can see is a ``KlaviyoMCPError`` with a stable ``code``; the adapters
translate it once (``server.py`` into an MCP error result, ``api/errors.py`` into an HTTP
status). Nothing else crosses those boundaries: httpx, sqlite and pydantic errors are mapped
into this tree where they happen.

    KlaviyoMCPError                     code                 HTTP
    ├── ConfigError                     CONFIG_ERROR         500
    ├── UnauthenticatedError            UNAUTHENTICATED      401  (network adapters)
    ├── ForbiddenError                  FORBIDDEN            403  (a credential, account or role refused)
    ├── UnknownAccountError             UNKNOWN_ACCOUNT      404
    ├── InvalidArgumentError            INVALID_ARGUMENT     400
    ├── NotFoundError                   NOT_FOUND            404
    ├── ApprovalRequiredError           APPROVAL_REQUIRED    409
    ├── ConflictError                   CONFLICT             409
    ├── ReadOnlyError                   READ_ONLY            403
    ├── ForbiddenActionError            FORBIDDEN_ACTION     403
    ├── DeadlineExceededError           DEADLINE_EXCEEDED    504
    ├── UnavailableError                UNAVAILABLE          503  (a store of ours, e.g. PostgreSQL, is down)
    └── UpstreamError                   UPSTREAM_ERROR       502
        ├── UpstreamAuthError           UPSTREAM_AUTH        502
        ├── MissingScopeError           MISSING_SCOPE        403
        └── RateLimitedError            RATE_LIMITED         429

Messages say what to do next; ``details`` carries machine-readable context (the offending
field, the allowed values, the scope to add). Neither ever holds a secret.
"""

from __future__ import annotations

from typing import Any, ClassVar


class KlaviyoMCPError(Exception):
    """Base of every error a tool can return."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = {k: v for k, v in details.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """The one error shape both adapters return."""
        return {"code": self.code, "message": self.message, "details": self.details}


class ConfigError(KlaviyoMCPError):
    code = "CONFIG_ERROR"
    http_status = 500


class UnauthenticatedError(KlaviyoMCPError):
    """A REST request without a credential."""

    code = "UNAUTHENTICATED"
    http_status = 401


class ForbiddenError(KlaviyoMCPError):
    """A credential that is wrong, or a caller not granted this account or role (tools/access.py).

    An account or action outside the caller's grants gets the same message whether it exists or not."""

    code = "FORBIDDEN"
    http_status = 403


class UnknownAccountError(KlaviyoMCPError):
    code = "UNKNOWN_ACCOUNT"
    http_status = 404


# Rules that join several fields (or a field and the account), which a JSON schema cannot state:
# an INVALID_ARGUMENT that breaks one names it in ``details.rule``; /openapi.json lists them all.
RULES = {
    "window": "start_date+end_date or timeframe (prior_* likewise), never both and never neither; "
    "end_date not before start_date; not starting in the future; at most 10 years",
    "window_fits_report": "the window fits the report asked for: hourly at most 7 days, daily at most 366, "
    "segment data from 2023-06-01, a series within the report calls Klaviyo allows",
    "applies_to": "a field that applies to one entity only (statistics, entity_id: entity=flow)",
    "one_target": "one target: seed_demo_profiles exactly one of list_id or new_list_name; "
    "predictive_analytics list_id or segment_id, not both; deliverability campaign or flow, not both; "
    "ab_results and link_clicks exactly one of campaign or flow_message",
    "some_profiles": "add_profiles_to_list: emails or profile_ids (at least one)",
    "flow_recipe": "propose_flow: recipe custom takes name and definition, a named recipe its trigger_id and "
    "never a definition; delays and subjects one per email; update_flow: subject for an email, delay for a wait",
    "flow_values": "propose_flow values: waits like '2 days' (0 to the maximum), send_time HH:MM, subjects and "
    "names not empty and within their length, 1 to 10 emails",
    "flow_definition": "propose_flow definition: Klaviyo's FlowDefinition schema at this revision, with "
    "one trigger and existing templates and trigger objects",
    "resume_token": "resume: the live metadata.resume of a partial answer to the same call",
    "account_state": "what the account holds: a default sender when from_email is left out; a profile "
    "for every email or id given; webhook topics the account offers; a campaign with a message to clone",
    "channel": "clone_campaign: an email or SMS campaign; no subject for SMS; a list whose members the channel "
    "can reach",
    "public_endpoint": "endpoint_url: https to a public host, never loopback, private, link-local, reserved or "
    "local names (details.reason names the check)",
    "secret_env": "secret_env names a variable set in the server's environment to at least 16 characters",
}
FITS = "window_fits_report"


class InvalidArgumentError(KlaviyoMCPError):
    code = "INVALID_ARGUMENT"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message, field=field, **details)
        self.field = field


class NotFoundError(KlaviyoMCPError):
    code = "NOT_FOUND"
    http_status = 404


class ApprovalRequiredError(KlaviyoMCPError):
    code = "APPROVAL_REQUIRED"
    http_status = 409


class ConflictError(KlaviyoMCPError):
    """A state transition that is not allowed now (e.g. executing a rejected proposal)."""

    code = "CONFLICT"
    http_status = 409


class ReadOnlyError(KlaviyoMCPError):
    code = "READ_ONLY"
    http_status = 403


class ForbiddenActionError(KlaviyoMCPError):
    """The client refuses to send or schedule: the product drafts, people send."""

    code = "FORBIDDEN_ACTION"
    http_status = 403


class DeadlineExceededError(KlaviyoMCPError):
    code = "DEADLINE_EXCEEDED"
    http_status = 504


class UnavailableError(KlaviyoMCPError):
    """A store this server depends on (the ledger's PostgreSQL) cannot be reached now: retry later.

    Never names the connection (user, host, port, database): the server log has that."""

    code = "UNAVAILABLE"
    http_status = 503


class UpstreamError(KlaviyoMCPError):
    """Klaviyo answered with an error, or could not be reached."""

    code = "UPSTREAM_ERROR"
    http_status = 502


class UpstreamAuthError(UpstreamError):
    code = "UPSTREAM_AUTH"
    http_status = 502


class MissingScopeError(UpstreamError):
    code = "MISSING_SCOPE"
    http_status = 403


class RateLimitedError(UpstreamError):
    code = "RATE_LIMITED"
    http_status = 429


ALL_ERRORS: tuple[type[KlaviyoMCPError], ...] = (
    KlaviyoMCPError,
    ConfigError,
    UnauthenticatedError,
    ForbiddenError,
    UnknownAccountError,
    InvalidArgumentError,
    NotFoundError,
    ApprovalRequiredError,
    ConflictError,
    ReadOnlyError,
    ForbiddenActionError,
    DeadlineExceededError,
    UnavailableError,
    UpstreamError,
    UpstreamAuthError,
    MissingScopeError,
    RateLimitedError,
)

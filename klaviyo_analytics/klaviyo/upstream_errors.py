"""Translating Klaviyo's HTTP errors into the product's error tree, at one place."""

from __future__ import annotations

import math
from typing import Any

from klaviyo_analytics.errors import (
    ConflictError,
    InvalidArgumentError,
    KlaviyoMCPError,
    MissingScopeError,
    NotFoundError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamError,
)
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.klaviyo.endpoints import Endpoint
from klaviyo_analytics.klaviyo.redact import redact

# Klaviyo's error details can echo request input; keep them short in our messages.
_MAX_DETAIL = 300


class MalformedResponse(Exception):
    """Klaviyo answered, but not with a JSON:API document."""


def upstream_errors(payload: Any) -> list[dict[str, Any]]:
    """The useful part of a JSON:API error document (code, detail, source, meta)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("errors"), list):
        return []
    found = []
    for error in payload["errors"][:5]:
        if isinstance(error, dict):
            found.append(
                {
                    k: redact(error[k])
                    for k in ("code", "title", "detail", "source", "meta")
                    if error.get(k) not in (None, {}, "")
                }
            )
    return found


def map_status_error(
    account: Account, endpoint: Endpoint, status: int, payload: Any, retry_after: float | None
) -> KlaviyoMCPError:
    errors = upstream_errors(payload)
    detail = str(errors[0].get("detail", ""))[:_MAX_DETAIL] if errors else ""
    op = endpoint.operation_id
    common: dict[str, Any] = {"operation": op, "upstream_status": status, "upstream_errors": errors or None}
    if status == 401:
        return UpstreamAuthError(
            f"Klaviyo rejected the API key in {account.api_key_env} for account {account.slug!r}; "
            "check that it is a valid private key (Klaviyo > Settings > API keys)",
            **common,
        )
    if status == 403:
        scopes = ", ".join(endpoint.scopes)
        return MissingScopeError(
            f"the API key for account {account.slug!r} lacks the scope {scopes} needed by {op}; "
            "add it to the key in Klaviyo > Settings > API keys",
            missing_scopes=list(endpoint.scopes),
            **common,
        )
    if status == 404:
        return NotFoundError(f"Klaviyo found no such object for {op}: {detail or 'not found'}", **common)
    if status == 409:
        return ConflictError(f"Klaviyo reported a conflict for {op}: {detail or 'conflict'}", **common)
    if status == 429:
        wait = math.ceil(retry_after) if retry_after is not None else None
        return RateLimitedError(
            f"Klaviyo rate-limited {op} for account {account.slug!r}"
            + (f"; try again in {wait} s" if wait is not None else "; try again shortly"),
            retry_after_seconds=wait,
            **common,
        )
    if status in (400, 422):
        field = None
        if errors:
            source = errors[0].get("source") or {}
            field = source.get("parameter") or source.get("pointer")
        return InvalidArgumentError(
            f"Klaviyo rejected the request to {op}: {detail or 'invalid input'}", field=field, **common
        )
    if status >= 500:
        return UpstreamError(f"Klaviyo had an internal error on {op} (HTTP {status}); try again", **common)
    return UpstreamError(f"Klaviyo answered {op} with HTTP {status}: {detail}", **common)

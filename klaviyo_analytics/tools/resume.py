"""Partial answers that resume: the next call sends only the rows completed since.

The size tools (list health, segments) stop at the call's deadline and return the ids they did
not reach in ``pending``. Re-asking used to send the whole table again — every row, pending ones
included — on each of the many calls a large account needs at Klaviyo's 15 sizes a minute. Now
such an answer also carries ``metadata.resume``, a short token; a call with ``resume=<token>``
(and otherwise the same arguments) answers with only the rows whose size was pending in that
answer and is known now, the totals and warnings of the whole table as before, and either a new
token (still pending) or ``metadata.complete: true``.

A token names a state kept in the quota store for ``KLAVIYO_MCP_LIST_SIZE_CACHE_TTL_SECONDS`` (the sizes'
own lifetime), so any process sharing the store resumes it: the tool, the account, the other
arguments and the ids still pending. A token for other arguments, or one that expired, is an
``INVALID_ARGUMENT`` that says to call again without it.
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.klaviyo.cache import store_key
from klaviyo_analytics.klaviyo.memo import note_uncacheable
from klaviyo_analytics.quota import StoreUnavailable
from klaviyo_analytics.schemas.common import StrictModel
from klaviyo_analytics.service.core import KlaviyoService, ToolResult

TOKEN_BYTES = 9  # 12 URL-safe characters


def resumed(
    spec_name: str, rows_field: str, id_field: str, svc: KlaviyoService, params: StrictModel, result: ToolResult[Any]
) -> ToolResult[Any]:
    """``result`` as a resumable answer: the delta for a ``resume`` token, and the next token."""
    token: str | None = getattr(params, "resume", None)
    if token is None and not result.data.pending:
        return result  # a whole answer, asked whole: nothing to add
    note_uncacheable()  # the answer depends on the token's state, not only on the cache
    binding = [spec_name, result.account, params.model_dump_json(exclude={"resume"})]
    data, extra = result.data, dict(result.extra_metadata)
    pending = list(data.pending)
    if token is not None:
        before = _load(svc, token, binding)
        still = set(pending)
        rows = [row for row in getattr(data, rows_field) if getattr(row, id_field) in before - still]
        data = data.model_copy(update={rows_field: rows})
        extra["rows"] = "completed since the answer that gave the resume token; totals cover every row"
    if pending:
        extra["resume"] = _save(svc, binding, pending)
    else:
        extra["complete"] = True
    return dataclasses.replace(result, data=data, extra_metadata=extra)


def _key(svc: KlaviyoService, token: str) -> str:
    return store_key(f"resume|{svc.settings.klaviyo_base_url}|{token}")


def _save(svc: KlaviyoService, binding: list[Any], pending: list[str]) -> str | None:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    ttl = svc.settings.list_size_cache_ttl_seconds
    try:
        svc.client.store.cache_put(_key(svc, token), {"binding": binding, "pending": pending}, ttl, 0.0)
    except StoreUnavailable:
        return None  # no token: the next call sends the whole table, as before
    return token


def _load(svc: KlaviyoService, token: str, binding: list[Any]) -> set[str]:
    try:
        entry = svc.client.store.cache_get(_key(svc, token))
    except StoreUnavailable:
        entry = None
    state = entry.value if entry is not None else None
    if not isinstance(state, dict) or state.get("binding") != binding:
        raise InvalidArgumentError(
            "resume: unknown or expired token, or one given for other arguments; call again without resume "
            "for the whole table",
            field="resume",
            rule="resume_token",
        )
    return {str(ident) for ident in state.get("pending") or []}

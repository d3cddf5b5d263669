"""Sizes of lists and segments: paced, deadline-aware and resumable.

Klaviyo returns ``profile_count`` only from the single-object endpoints, with
``additional-fields[<type>]=profile_count``, and that variant is limited to 1/s and 15/min.
So every size is one request, and an account with 50 lists needs more than three minutes
of quota: more than one tool call's deadline. :func:`fetch_sizes` therefore

- serves every size already cached without waiting (the client looks in its cache before it
  paces), so a repeat call spends its quota only on what is still missing;
- before each uncached lookup asks the pacer how far away the next slot is, and stops
  looking up once that wait plus the request itself would run past the call's deadline;
- returns the sizes it has and the ids it has not reached as ``pending``. Sizes are cached
  for ``KLAVIYO_MCP_LIST_SIZE_CACHE_TTL_SECONDS`` (they change slowly), so the next call resumes.

A lookup that fails for one object (deleted meanwhile, a 5xx after retries) leaves that size
null with a warning. Only account-wide failures (a bad key, a missing scope) fail the call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from klaviyo_analytics.errors import (
    DeadlineExceededError,
    KlaviyoMCPError,
    MissingScopeError,
    NotFoundError,
    RateLimitedError,
    UpstreamAuthError,
)
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.klaviyo.endpoints import PROFILE_COUNT_LIMIT, resolve
from klaviyo_analytics.service.core import CallContext, KlaviyoService

# Time left for the request itself once a rate-limit slot is ours.
REQUEST_MARGIN_SECONDS = 2.0
# Klaviyo's collection page size for lists and segments is at most 10.
PAGE_SIZE = "10"
MAX_IDS_IN_WARNING = 10


@dataclass(frozen=True)
class Kind:
    """A resource that has a size: ``lists`` / ``list`` or ``segments`` / ``segment``."""

    resource: str
    type: str

    @property
    def size_params(self) -> dict[str, str]:
        return {f"additional-fields[{self.type}]": "profile_count"}


LIST = Kind("lists", "list")
SEGMENT = Kind("segments", "segment")


@dataclass
class Sizes:
    counts: dict[str, int | None] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # id -> error code
    retry_after_seconds: int | None = None

    def warnings(self, kind: Kind) -> list[str]:
        warnings = []
        if self.pending:
            when = f" in about {self.retry_after_seconds} s" if self.retry_after_seconds else ""
            warnings.append(
                f"{len(self.pending)} {kind.type} sizes are not fetched yet (listed in pending): Klaviyo allows "
                f"{PROFILE_COUNT_LIMIT.steady} size lookups a minute. Call again{when} to complete them; sizes "
                "already fetched are cached, so the next call resumes where this one stopped."
            )
        if self.failed:
            shown = ", ".join(f"{i} ({code})" for i, code in list(self.failed.items())[:MAX_IDS_IN_WARNING])
            more = len(self.failed) - MAX_IDS_IN_WARNING
            warnings.append(
                f"profile_count is null for {len(self.failed)} {kind.type}(s) whose size lookup failed: {shown}"
                + (f" and {more} more" if more > 0 else "")
            )
        return warnings

    def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"partial": bool(self.pending)}
        if self.pending and self.retry_after_seconds:
            metadata["retry_after_seconds"] = self.retry_after_seconds
        return metadata


def enumerate_items(
    svc: KlaviyoService,
    account: Account,
    kind: Kind,
    fields: str,
    ctx: CallContext,
    *,
    only_id: str | None = None,
    id_field: str,
) -> list[dict[str, Any]]:
    """Every list or segment (``id`` and ``attributes``), or just ``only_id``: NOT_FOUND if absent."""
    params = {"page[size]": PAGE_SIZE, f"fields[{kind.type}]": fields}
    if only_id is not None:
        params["filter"] = f'equals(id,"{only_id}")'
    items = svc.client.get_all(account, f"/api/{kind.resource}", params, deadline=ctx.deadline)
    if only_id is not None and not any(str(item.get("id")) == only_id for item in items):
        raise NotFoundError(f"account {account.slug!r} has no {kind.type} with id {only_id!r}", field=id_field)
    return [{"id": str(item.get("id")), "attributes": item.get("attributes") or {}} for item in items]


def fetch_sizes(svc: KlaviyoService, account: Account, kind: Kind, ids: list[str], ctx: CallContext) -> Sizes:
    """``profile_count`` of each id, within the call's deadline; see the module docstring."""
    sizes = Sizes()
    ttl = svc.settings.list_size_cache_ttl_seconds
    out_of_time = False
    for done, ident in enumerate(ids, start=1):
        path = f"/api/{kind.resource}/{ident}"
        params = kind.size_params
        if not _is_cached(svc, account, path, params, ttl):
            if not out_of_time:
                wait = _slot_wait(svc, account, path, params)
                if not ctx.deadline.allows(wait + REQUEST_MARGIN_SECONDS):
                    out_of_time = True
                    sizes.retry_after_seconds = math.ceil(wait) or None
            if out_of_time:
                sizes.pending.append(ident)
                ctx.progress(done, len(ids), f"{kind.type} {ident}: size pending")
                continue
        try:
            document = svc.client.get(account, path, params, deadline=ctx.deadline, cache_ttl=ttl)
        except (DeadlineExceededError, RateLimitedError) as exc:
            # Out of time or quota: the rest waits for the next call, like the pre-check above.
            out_of_time = True
            sizes.retry_after_seconds = exc.details.get("retry_after_seconds") or sizes.retry_after_seconds
            sizes.pending.append(ident)
        except (UpstreamAuthError, MissingScopeError):
            raise  # the same for every object: the call cannot succeed
        except KlaviyoMCPError as exc:
            sizes.counts[ident] = None
            sizes.failed[ident] = exc.code
            ctx.incomplete.append(f"{kind.type} {ident} size")
        else:
            sizes.counts[ident] = _profile_count(document)
        ctx.progress(done, len(ids), f"{kind.type} {ident}: size {sizes.counts.get(ident, 'pending')}")
    return sizes


def _is_cached(svc: KlaviyoService, account: Account, path: str, params: Mapping[str, str], ttl: float) -> bool:
    """Whether the client will answer this size from its cache (the key is the client's own)."""
    if ttl <= 0:
        return False
    return svc.client.is_cached(account, "GET", path, params)


def _slot_wait(svc: KlaviyoService, account: Account, path: str, params: Mapping[str, str]) -> float:
    resolved = resolve("GET", path, params)
    if resolved is None:  # every path built here is in the endpoint table
        return 0.0
    return max(0.0, svc.client.pacer.wait_estimate(account.slug, resolved.bucket, resolved.limit))


def _profile_count(document: Any) -> int | None:
    data = document.get("data") if isinstance(document, dict) else None
    value = ((data or {}).get("attributes") or {}).get("profile_count")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None  # Klaviyo may omit it or send null
    return int(value)

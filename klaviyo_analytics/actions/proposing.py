"""What every propose tool shares: propose-time reads (``Reader``), how a Klaviyo object's name is
shown, and storing the proposal (``store``: plan checks, twin warnings, the waiting event, the view).

The propose modules (``propose``, ``propose_flows``, ``propose_delete``, ``propose_webhooks``) build
plans; this module is the one path by which any of them stores one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from klaviyo_analytics.actions import audit, events, plans, secret_env
from klaviyo_analytics.actions.ledger import MAX_LIST_LIMIT
from klaviyo_analytics.actions.models import ProposalStatus
from klaviyo_analytics.errors import NotFoundError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules import untrusted
from klaviyo_analytics.schemas.actions import ActionView
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult


class Reader:
    """Propose-time reads, never cached: a plan is built on what Klaviyo holds now."""

    def __init__(self, service: KlaviyoService, account: Account, ctx: CallContext) -> None:
        self.service, self.account, self.ctx = service, account, ctx

    def one(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        try:
            document = self.service.client.get(self.account, path, params, deadline=self.ctx.deadline, cache_ttl=0)
        except NotFoundError:
            return None
        data = document.get("data") if isinstance(document, dict) else None
        return data if isinstance(data, dict) else None

    def all(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        items = self.service.client.get_all(self.account, path, params, deadline=self.ctx.deadline, cache_ttl=0)
        return [item for item in items if isinstance(item, dict)]

    def require(self, path: str, field: str, what: str) -> dict[str, Any]:
        found = self.one(path)
        if found is None:
            ident = path.rsplit("/", 1)[-1]
            raise NotFoundError(f"no {what} with id {ident!r} in this account; check the id.", field=field)
        return found

    def same_name(self, path: str, name: str, params: dict[str, str] | None = None) -> list[str]:
        items = self.all(path, params or {"filter": plans.name_filter(name)})
        return [str(i.get("id")) for i in items if (i.get("attributes") or {}).get("name") == name]


def name_of(resource: dict[str, Any]) -> str:
    return str((resource.get("attributes") or {}).get("name") or resource.get("id"))


def shown_name(resource: dict[str, Any]) -> str:
    """A Klaviyo object's name as summaries and plan notes quote it: account text, so cleaned (or
    hidden under KLAVIYO_MCP_USER_CONTENT=drop) like every other (untrusted.py)."""
    return untrusted.clean(name_of(resource))


def store(
    service: KlaviyoService,
    account: Account,
    action: str,
    params: BaseModel,
    plan: list[dict[str, Any]],
    summary: str,
    warnings: Sequence[str],
    ctx: CallContext,
) -> ToolResult[ActionView]:
    # Free-form input never asks for a secret; the plan holds only the secrets its tool declared.
    secret_env.refuse_in_input(params.model_dump(mode="json", exclude_none=True))
    secret_env.check_plan(plan)
    plans.check_refs(plan)
    warnings = [*warnings, *twin_warnings(service, account, plan)]
    proposal = service.ledger.create_proposal(
        account.slug, action, params.model_dump(mode="json", exclude_none=True), plan, summary, warnings, ctx.caller
    )
    events.proposal_waiting(service, proposal)
    return audit.result(service.ledger, service.settings, proposal)


def creates(plan: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    """(collection path, name) of every named object the plan creates."""
    checks = [item.get("check") or {} for item in plan]
    return {(str(c["path"]), str(c["name"])) for c in checks if c.get("kind") == "by_name"}


def twin_warnings(service: KlaviyoService, account: Account, plan: Sequence[dict[str, Any]]) -> list[str]:
    """Another proposal not yet run that creates a same-named object: running both makes two."""
    ours = creates(plan)
    if not ours:
        return []
    waiting = [
        p for status in (ProposalStatus.PENDING, ProposalStatus.APPROVED)
        for p in service.ledger.list_proposals(account=account.slug, status=status, limit=MAX_LIST_LIMIT)
    ]  # fmt: skip
    out = []
    for path, name in sorted(ours):
        twins = [p.id for p in waiting if (path, name) in creates(p.plan)]
        if twins:
            kind = path.rsplit("/", 1)[-1].rstrip("s")
            out.append(
                f"Another proposal not yet run ({', '.join(twins[:5])}) also creates a {kind} named "
                f"{untrusted.clean(name)!r}; running both makes two."
            )
    return out


def exists_warning(kind: str, name: str, ids: list[str]) -> list[str]:
    if not ids:
        return []
    return [f"A {kind} named {name!r} already exists ({', '.join(ids[:5])}); this creates another one."]

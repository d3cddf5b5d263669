"""The propose tools: validate, resolve what the plan refers to (GETs only), store the proposal.

Nothing is written to Klaviyo here. Each handler reads what it must (does the list exist? which
profiles have these emails? is the flow already paused?), builds the plan with ``recipes`` and
stores it in the ledger; the answer is the proposal's view and how a person approves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from klaviyo_analytics import untrusted
from klaviyo_analytics.actions import audit, events, flow_guard, plans, recipes, secret_env
from klaviyo_analytics.actions.ledger import MAX_LIST_LIMIT
from klaviyo_analytics.actions.models import ProposalStatus
from klaviyo_analytics.errors import ForbiddenActionError, InvalidArgumentError, NotFoundError
from klaviyo_analytics.registry import Account
from klaviyo_analytics.schemas.actions import (
    ActionView,
    AddProfilesToListParams,
    CampaignDraftParams,
    CreateListParams,
    PauseFlowParams,
    SeedDemoProfilesParams,
    SegmentParams,
)
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.metrics import conversion_metric_id

LOOKUP_CHUNK = 100  # GET /api/profiles: any(...) lists and pages of at most 100
PAUSED = ("manual", "draft")


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


def _name(resource: dict[str, Any]) -> str:
    return str((resource.get("attributes") or {}).get("name") or resource.get("id"))


def _shown(resource: dict[str, Any]) -> str:
    """A Klaviyo object's name as summaries and plan notes quote it: account text, so cleaned (or
    hidden under KLAVIYO_MCP_USER_CONTENT=drop) like every other (untrusted.py)."""
    return untrusted.clean(_name(resource))


def _store(
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
    warnings = [*warnings, *_twin_warnings(service, account, plan)]
    proposal = service.ledger.create_proposal(
        account.slug, action, params.model_dump(mode="json", exclude_none=True), plan, summary, warnings, ctx.caller
    )
    events.proposal_waiting(service, proposal)
    return audit.result(service.ledger, service.settings, proposal)


def _creates(plan: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    """(collection path, name) of every named object the plan creates."""
    checks = [item.get("check") or {} for item in plan]
    return {(str(c["path"]), str(c["name"])) for c in checks if c.get("kind") == "by_name"}


def _twin_warnings(service: KlaviyoService, account: Account, plan: Sequence[dict[str, Any]]) -> list[str]:
    """Another proposal not yet run that creates a same-named object: running both makes two."""
    ours = _creates(plan)
    if not ours:
        return []
    waiting = [
        p for status in (ProposalStatus.PENDING, ProposalStatus.APPROVED)
        for p in service.ledger.list_proposals(account=account.slug, status=status, limit=MAX_LIST_LIMIT)
    ]  # fmt: skip
    out = []
    for path, name in sorted(ours):
        twins = [p.id for p in waiting if (path, name) in _creates(p.plan)]
        if twins:
            kind = path.rsplit("/", 1)[-1].rstrip("s")
            out.append(
                f"Another proposal not yet run ({', '.join(twins[:5])}) also creates a {kind} named "
                f"{untrusted.clean(name)!r}; running both makes two."
            )
    return out


def _exists_warning(kind: str, name: str, ids: list[str]) -> list[str]:
    if not ids:
        return []
    return [f"A {kind} named {name!r} already exists ({', '.join(ids[:5])}); this creates another one."]


def propose_create_list(service: KlaviyoService, params: CreateListParams, ctx: CallContext) -> ToolResult[ActionView]:
    account = service.account(params.account)
    existing = Reader(service, account, ctx).same_name("/api/lists", params.name)
    opt_in = (params.opt_in_process or "the account's default opt-in").replace("_", " ")
    summary = f"Create the list {params.name!r} ({opt_in})."
    plan = [recipes.create_list(params.name, params.opt_in_process, existing)]
    warnings = _exists_warning("list", params.name, existing)
    return _store(service, account, "create_list", params, plan, summary, warnings, ctx)


def propose_seed_demo_profiles(
    service: KlaviyoService, params: SeedDemoProfilesParams, ctx: CallContext
) -> ToolResult[ActionView]:
    account = service.account(params.account)
    reader = Reader(service, account, ctx)
    if (params.list_id is None) == (params.new_list_name is None):
        raise InvalidArgumentError(
            "give exactly one of list_id (an existing list) or new_list_name.", field="list_id", rule="one_target"
        )
    plan: list[dict[str, Any]] = []
    warnings: list[str] = []
    if params.list_id is not None:
        found = reader.require(f"/api/lists/{params.list_id}", "list_id", "list")
        target: Any = params.list_id
        label = f"the list {_shown(found)!r} ({params.list_id})"
        guard = flow_guard.propose_guard(reader, params.list_id)
    else:
        name = str(params.new_list_name)
        existing = reader.same_name("/api/lists", name)
        warnings += _exists_warning("list", name, existing)
        plan.append(recipes.create_list(name, None, existing))
        target, label = plans.ref(recipes.LIST_STEP), f"the new list {name!r}"
        guard = flow_guard.propose_guard(None, target)
    warnings += flow_guard.warnings(guard, label)
    emails = recipes.demo_emails(account.slug, params.list_id or str(params.new_list_name), params.count, params.domain)
    known = _profiles_by(reader, "email", emails)
    if known:
        warnings.append(f"{len(known)} of these demo profiles already exist; they are updated, not duplicated.")
    imports = recipes.seed_profiles(emails, params.spend_90d)
    plan += imports + recipes.add_members(target, label, [plans.ref(s["step_id"]) for s in imports], guard)
    warnings.append("Demo profiles are synthetic (example.com) but count towards the account's profiles.")
    shown = emails[0] if len(emails) == 1 else f"{emails[0]} … {emails[-1]}"
    summary = (
        f"Create or update {len(emails)} synthetic profiles ({shown}) with demo_spend_90d and demo_is_vip, "
        f"and add them to {label}."
    )
    return _store(service, account, "seed_demo_profiles", params, plan, summary, warnings, ctx)


def _profiles_by(reader: Reader, field: str, values: list[str]) -> dict[str, str]:
    """{value (emails lower-cased): profile id} for the profiles that exist."""
    found: dict[str, str] = {}
    for chunk in plans.batches(values, LOOKUP_CHUNK):
        quoted = ",".join(recipes.quoted(v) for v in chunk)
        query = {"filter": f"any({field},[{quoted}])", "page[size]": str(LOOKUP_CHUNK)}
        for item in reader.all("/api/profiles", query):
            key = str(item.get("id")) if field == "id" else str((item.get("attributes") or {}).get(field) or "")
            found[key.lower() if field == "email" else key] = str(item.get("id"))
    return found


def propose_add_profiles_to_list(
    service: KlaviyoService, params: AddProfilesToListParams, ctx: CallContext
) -> ToolResult[ActionView]:
    account = service.account(params.account)
    reader = Reader(service, account, ctx)
    if not params.emails and not params.profile_ids:
        raise InvalidArgumentError(
            "give the profiles to add: emails or profile_ids.", field="emails", rule="some_profiles"
        )
    found = reader.require(f"/api/lists/{params.list_id}", "list_id", "list")
    ids: list[str] = []
    for field, values in (("email", params.emails or []), ("id", params.profile_ids or [])):
        wanted = list(dict.fromkeys(v.lower() if field == "email" else v for v in values))
        known = _profiles_by(reader, field, wanted)
        unknown = [v for v in wanted if v not in known]
        if unknown:
            name = "emails" if field == "email" else "profile_ids"
            raise InvalidArgumentError(
                f"no profile has {'these emails' if field == 'email' else 'these ids'}: {', '.join(unknown[:20])}; "
                "remove them (or seed them first).",
                field=name,
                unknown=unknown,
                rule="account_state",
            )
        ids += [known[v] for v in wanted]
    ids = list(dict.fromkeys(ids))
    label = f"the list {_shown(found)!r} ({params.list_id})"
    guard = flow_guard.propose_guard(reader, params.list_id)
    plan = recipes.add_members(params.list_id, label, list(ids), guard)
    summary = f"Add {len(ids)} existing profiles to {label}."
    warnings = flow_guard.warnings(guard, label)
    warnings.append("Adding profiles to a list does not change their consent; profiles already on it stay once.")
    return _store(service, account, "add_profiles_to_list", params, plan, summary, warnings, ctx)


def _audience(reader: Reader, audience_id: str) -> str:
    for kind in ("list", "segment"):
        found = reader.one(f"/api/{kind}s/{audience_id}")
        if found is not None:
            return f"the {kind} {_shown(found)!r} ({audience_id})"
    raise NotFoundError(f"no list or segment with id {audience_id!r} in this account.", field="audience_id")


def propose_campaign_draft(
    service: KlaviyoService, params: CampaignDraftParams, ctx: CallContext
) -> ToolResult[ActionView]:
    account = service.account(params.account)
    reader = Reader(service, account, ctx)
    audience = _audience(reader, params.audience_id)
    from_email, from_label = params.from_email, params.from_label
    if from_email is None or from_label is None:
        accounts = reader.all("/api/accounts", {})
        contact = ((accounts[0] if accounts else {}).get("attributes") or {}).get("contact_information") or {}
        from_email = from_email or contact.get("default_sender_email")
        from_label = from_label or contact.get("default_sender_name")
    if not from_email:
        raise InvalidArgumentError(
            "the account has no default sender; give from_email.", field="from_email", rule="account_state"
        )
    content = {
        "subject": params.subject, "preview_text": params.preview_text, "from_email": from_email,
        "from_label": from_label, "reply_to_email": params.reply_to_email,
    }  # fmt: skip
    content = {k: v for k, v in content.items() if v is not None}
    existing = {
        "campaign": reader.same_name("/api/campaigns", params.name, {"filter": recipes.campaign_filter(params.name)})
    }
    warnings = ["The campaign is created as a Draft: nothing is sent or scheduled. Review and send it in Klaviyo."]
    warnings += _exists_warning("campaign", params.name, existing["campaign"])
    if params.template_html is not None:
        template = recipes.template_name(params.name)
        existing["template"] = reader.same_name("/api/templates", template)
        warnings += _exists_warning("template", template, existing["template"])
        warnings.append("Klaviyo assigns a copy of the template to the message; the original stays in the library.")
    plan = recipes.campaign_draft(params.name, params.audience_id, content, params.template_html, existing)
    with_template = ", with its HTML template assigned to the message" if params.template_html else ""
    summary = (
        f"Create the email campaign draft {params.name!r} for {audience}: subject {params.subject!r}, "
        f"from {from_label or ''} <{from_email}>{with_template}. It stays a Draft; nothing is sent."
    )
    return _store(service, account, "campaign_draft", params, plan, summary, warnings, ctx)


def propose_segment(service: KlaviyoService, params: SegmentParams, ctx: CallContext) -> ToolResult[ActionView]:
    account = service.account(params.account)
    reader = Reader(service, account, ctx)
    metric_id = params.metric_id or conversion_metric_id(service, account, ctx)
    metric = reader.require(f"/api/metrics/{metric_id}", "metric_id", "metric")
    days = params.days or (90 if params.recipe == "vip" else 180)
    value = f"{params.min_value:g}"
    if params.recipe == "vip":
        name = params.name or f"VIP: {_name(metric)} >= {value} in {days} days"
        rule = f"their {_shown(metric)} value summed over the last {days} days is at least {value}"
    else:
        name = params.name or f"Win-back: no {_name(metric)} in {days} days"
        rule = f"they had {_shown(metric)} before, but not in the last {days} days"
    definition = recipes.segment_definition(params.recipe, metric_id, params.min_value, days)
    existing = reader.same_name("/api/segments", name)
    warnings = _exists_warning("segment", name, existing)
    warnings.append("Klaviyo computes a new segment's members after it is created; that can take a while.")
    summary = f"Create the segment {name!r}: profiles where {rule}."
    plan = [recipes.create_segment(name, definition, existing)]
    return _store(service, account, f"segment_{params.recipe}", params, plan, summary, warnings, ctx)


def propose_pause_flow(service: KlaviyoService, params: PauseFlowParams, ctx: CallContext) -> ToolResult[ActionView]:
    if params.status == "live":
        raise ForbiddenActionError(
            "setting a flow live starts sending to real people, so this product never does it; "
            "turn the flow on in Klaviyo after review. Pause with manual or draft.",
            field="status",
        )
    if params.status not in PAUSED:
        raise InvalidArgumentError(f"status must be manual or draft, not {params.status!r}.", field="status")
    account = service.account(params.account)
    flow = Reader(service, account, ctx).require(f"/api/flows/{params.flow_id}", "flow_id", "flow")
    current = str((flow.get("attributes") or {}).get("status") or "unknown")
    warnings = []
    if current in PAUSED:
        warnings.append(f"The flow is already paused ({current}); this only sets it to {params.status}.")
    warnings.append("This product will not set the flow live again: turn it back on in Klaviyo.")
    summary = (
        f"Set the flow {_shown(flow)!r} ({params.flow_id}) from {current} to {params.status}: "
        "it stops sending until someone turns it back on in Klaviyo."
    )
    plan = [recipes.set_flow_status(params.flow_id, _shown(flow), params.status)]
    return _store(service, account, "pause_flow", params, plan, summary, warnings, ctx)

"""Read operations: GET collections and resources, reports and metric aggregates.

Every handler takes a :class:`Context` (the account, the checked query and body, the URL
pieces) and returns ``(status, document)``. Collections filter with the operation's
``x-klaviyo-filters``, sort, and page with an opaque cursor in ``links.next``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from klaviyo_sandbox import aggregates, filters, forms, reports
from klaviyo_sandbox.activity_resources import TAG_KINDS, TagGroupRef, catalog_variants, tags_on
from klaviyo_sandbox.jsonapi import ApiError, not_found, page_links, sparse, url_for
from klaviyo_sandbox.models import Account
from klaviyo_sandbox.params import Query
from klaviyo_sandbox.resources import SERIALIZERS, account_resource, iso
from klaviyo_sandbox.spec import Operation
from klaviyo_sandbox.store import Store
from klaviyo_sandbox.triggers import triggered_by
from klaviyo_sandbox.views import VIEWS

Reply = tuple[int, dict[str, Any] | None]


@dataclass
class Context:
    store: Store
    slug: str
    account: Account
    op: Operation
    params: dict[str, str]
    query: Query
    raw_query: Sequence[tuple[str, str]]
    data: Any
    base: str
    path: str
    now: datetime
    # The revision's serializers (revision.py): 2026-10-15 shows campaigns and messages otherwise.
    serializers: Mapping[str, Callable[..., dict[str, Any]]] = field(default_factory=lambda: SERIALIZERS)
    # A multipart/form-data body (the image file upload): field name -> (filename or None, bytes).
    form: dict[str, tuple[str | None, bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return url_for(self.base, self.path, self.raw_query)

    def render(self, kind: str, obj: Any) -> dict[str, Any]:
        out = self.serializers[kind](self.account, obj, self.base, self.query.extras(kind))
        out["attributes"] = sparse(out["attributes"], self.query.fields.get(kind))
        return out


def lookup(ctx: Context, table: dict[str, Any], kind: str, ident: str | None = None) -> Any:
    key = ident if ident is not None else ctx.params["id"]
    if key not in table:
        raise not_found(kind, key)
    return table[key]


def same_id(ctx: Context) -> None:
    """PATCH bodies carry the resource id; one that differs from the URL's is a conflict."""
    if ctx.data.get("id") != ctx.params["id"]:
        raise ApiError(409, "conflict", "The id in the body does not match the id in the URL.", pointer="/data/id")


# (primary type, include name) -> (included type, the related objects)
_INCLUDES: dict[tuple[str, str], tuple[str, Callable[[Account, Any], Iterable[Any]]]] = {
    ("campaign", "campaign-messages"): ("campaign-message", lambda a, c: (a.messages[i] for i in c.message_ids)),
    ("campaign-message", "campaign"): ("campaign", lambda a, m: [a.campaigns[m.campaign_id]]),
    ("campaign-message", "template"): (
        "template",
        lambda a, m: [a.templates[m.template_id]] if m.template_id in a.templates else [],
    ),
    ("flow", "flow-actions"): ("flow-action", lambda a, f: (a.actions[i] for i in f.action_ids)),
    ("flow-action", "flow"): ("flow", lambda a, x: [a.flows[x.flow_id]]),
    ("flow-action", "flow-messages"): ("flow-message", lambda a, x: (a.flow_messages[i] for i in x.message_ids)),
    ("flow-message", "flow-action"): ("flow-action", lambda a, m: [a.actions[m.action_id]]),
    ("flow-message", "template"): (
        "template",
        lambda a, m: [a.templates[t]] if (t := m.definition.get("template_id")) in a.templates else [],
    ),
    ("list", "flow-triggers"): ("flow", lambda a, r: triggered_by(a, "list", r.id)),
    ("segment", "flow-triggers"): ("flow", lambda a, s: triggered_by(a, "segment", s.id)),
    ("metric", "flow-triggers"): ("flow", lambda a, m: triggered_by(a, "metric", m.id)),
    # Revision 2026-10-15 (omni_resources.py): a campaign's one audience, a message's one variation.
    ("campaign", "campaign-audiences"): ("campaign-audience", lambda a, c: [c]),
    ("campaign-message", "campaign-audience"): ("campaign-audience", lambda a, m: [a.campaigns[m.campaign_id]]),
    ("campaign-message", "campaign-variations"): ("campaign-variation", lambda a, m: [m]),
    ("campaign-variation", "campaign-message"): ("campaign-message", lambda a, m: [m]),
    ("campaign-audience", "campaign"): ("campaign", lambda a, c: [c]),
    ("campaign-audience", "campaign-messages"): (
        "campaign-message",
        lambda a, c: (a.messages[i] for i in c.message_ids),
    ),
    ("event", "metric"): ("metric", lambda a, e: [a.metrics[e.metric_id]]),
    ("event", "profile"): ("profile", lambda a, e: [a.profiles[e.profile_id]] if e.profile_id in a.profiles else []),
    ("tag", "tag-group"): ("tag-group", lambda a, t: [TagGroupRef(t.group_id)]),
    ("catalog-item", "variants"): ("catalog-variant", lambda a, c: catalog_variants(c)),
    **{(kind, "tags"): ("tag", tags_on(kind)) for kind in TAG_KINDS},
}


def _included(ctx: Context, kind: str, objects: Iterable[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        for name in ctx.query.include:
            related_kind, related = _INCLUDES.get((kind, name), ("", lambda a, o: ()))
            for item in related(ctx.account, obj):
                if (related_kind, item.id) not in seen:
                    seen.add((related_kind, item.id))
                    out.append(ctx.render(related_kind, item))
    return out


def single(ctx: Context, kind: str, obj: Any, status: int = 200) -> Reply:
    doc: dict[str, Any] = {"data": ctx.render(kind, obj), "links": {"self": ctx.url}}
    if ctx.query.include:
        doc["included"] = _included(ctx, kind, [obj])
    return status, doc


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, datetime):
        return (1, value.timestamp())
    return (1, value)


def collection(ctx: Context, kind: str, items: Iterable[Any]) -> Reply:
    view = VIEWS[kind]
    chosen = list(items)
    if ctx.query.filter:
        chosen = [i for i in chosen if filters.matches(ctx.query.filter, view(ctx.account, i).get)]
    if ctx.query.sort:
        name = ctx.query.sort.lstrip("-")
        chosen.sort(key=lambda i: _sort_key(view(ctx.account, i).get(name)), reverse=ctx.query.sort.startswith("-"))
    size = ctx.query.page_size or max(1, len(chosen))
    offset = ctx.query.offset
    page = chosen[offset : offset + size]
    doc: dict[str, Any] = {
        "data": [ctx.render(kind, obj) for obj in page],
        "links": page_links(ctx.base, ctx.path, ctx.raw_query, offset, size, len(chosen)),
    }
    if ctx.query.include:
        doc["included"] = _included(ctx, kind, page)
    return 200, doc


def get_accounts(ctx: Context) -> Reply:
    data = account_resource(ctx.account, ctx.base)
    data["attributes"] = sparse(data["attributes"], ctx.query.fields.get("account"))
    return 200, {"data": [data], "links": {"self": ctx.url}}


def _report(ctx: Context) -> Reply:
    op_id = ctx.op.operation_id
    attrs = ctx.data["attributes"]
    kind = "segment" if "segment" in op_id else "campaign" if "campaign" in op_id else "flow"
    interval = attrs.get("interval") if op_id.endswith("series") else None
    data: dict[str, Any] = {"type": ctx.data["type"]}
    if op_id.startswith("query_form_"):
        data["attributes"] = forms.form_report(ctx.account, attrs, ctx.now, interval)
    elif kind == "segment":
        data["attributes"] = reports.segment_report(ctx.account, attrs, ctx.now, interval)
    else:
        data["attributes"], related = reports.message_report(ctx.account, kind, attrs, ctx.now, interval)
        names = {"campaign": "campaigns", "flow": "flows", "flow-message": "flow-messages"}
        data["relationships"] = {
            names[k]: {"data": [{"type": k, "id": i} for i in ids]} for k, ids in related.items() if k in names
        }
    return 200, {"data": data, "links": {"self": ctx.url}}


def query_metric_aggregates(ctx: Context) -> Reply:
    body = ctx.op.body or {}
    data = aggregates.aggregate(ctx.account, ctx.data["attributes"], list(body["enums"].get("by", [])))
    data["links"] = {"self": ctx.url}
    return 200, {"data": data, "links": {"self": ctx.url}}


def get_campaign_messages(ctx: Context) -> Reply:
    campaign = lookup(ctx, ctx.account.campaigns, "campaign")
    messages = [ctx.account.messages[i] for i in campaign.message_ids]
    doc: dict[str, Any] = {"data": [ctx.render("campaign-message", m) for m in messages], "links": {"self": ctx.url}}
    if ctx.query.include:
        doc["included"] = _included(ctx, "campaign-message", messages)
    return 200, doc


def _child_collection(
    kind: str, parent: str, parent_kind: str, children: Callable[[Account, Any], Iterable[Any]]
) -> Callable[[Context], Reply]:
    def handler(ctx: Context) -> Reply:
        owner = lookup(ctx, getattr(ctx.account, parent), parent_kind)
        return collection(ctx, kind, children(ctx.account, owner))

    return handler


def get_profiles_for_list(ctx: Context) -> Reply:
    """A list's members; each carries ``joined_group_at`` (the sandbox keeps no join time: the
    profile's creation stands in)."""
    rec = lookup(ctx, ctx.account.lists, "list")
    members = [ctx.account.profiles[i] for i in sorted(rec.members) if i in ctx.account.profiles]
    status, doc = collection(ctx, "profile", members)
    wanted = ctx.query.fields.get("profile")
    for item in (doc or {}).get("data") or []:
        if not wanted or "joined_group_at" in wanted:
            item["attributes"]["joined_group_at"] = iso(ctx.account.profiles[item["id"]].created)
    return status, doc


def get_form(ctx: Context) -> Reply:
    data = forms.encoded_form_resource(ctx.account, lookup(ctx, ctx.account.forms, "form"), ctx.base)
    data["attributes"] = sparse(data["attributes"], ctx.query.fields.get("form"))
    return 200, {"data": data, "links": {"self": ctx.url}}


def _get(kind: str, table: str) -> Callable[[Context], Reply]:
    return lambda ctx: single(ctx, kind, lookup(ctx, getattr(ctx.account, table), kind))


def _list(kind: str, table: str) -> Callable[[Context], Reply]:
    return lambda ctx: collection(ctx, kind, getattr(ctx.account, table).values())


READ_HANDLERS: dict[str, Callable[[Context], Reply]] = {
    "get_accounts": get_accounts,
    "get_metrics": _list("metric", "metrics"),
    "get_metric": _get("metric", "metrics"),
    "query_metric_aggregates": query_metric_aggregates,
    "query_campaign_values": _report,
    "query_flow_values": _report,
    "query_flow_series": _report,
    "query_segment_values": _report,
    "query_segment_series": _report,
    "get_campaigns": _list("campaign", "campaigns"),
    "get_campaign": _get("campaign", "campaigns"),
    "get_messages_for_campaign": get_campaign_messages,
    "get_campaign_message": _get("campaign-message", "messages"),
    "get_flows": _list("flow", "flows"),
    "get_flow": _get("flow", "flows"),
    "get_actions_for_flow": _child_collection(
        "flow-action", "flows", "flow", lambda a, f: (a.actions[i] for i in f.action_ids)
    ),
    "get_flow_action": _get("flow-action", "actions"),
    "get_flow_action_messages": _child_collection(
        "flow-message", "actions", "flow-action", lambda a, x: (a.flow_messages[i] for i in x.message_ids)
    ),
    "get_flow_message": _get("flow-message", "flow_messages"),
    "get_lists": _list("list", "lists"),
    "get_list": _get("list", "lists"),
    "get_flows_triggered_by_list": _child_collection(
        "flow", "lists", "list", lambda a, r: triggered_by(a, "list", r.id)
    ),
    "get_profiles": _list("profile", "profiles"),
    "get_profiles_for_list": get_profiles_for_list,
    "get_profile": _get("profile", "profiles"),
    "get_segments": _list("segment", "segments"),
    "get_segment": _get("segment", "segments"),
    "get_templates": _list("template", "templates"),
    "get_template": _get("template", "templates"),
    "get_forms": _list("form", "forms"),
    "get_form": get_form,
    "get_versions_for_form": _child_collection(
        "form-version", "forms", "form", lambda a, f: (a.form_versions[i] for i in f.version_ids)
    ),
    "get_form_version": _get("form-version", "form_versions"),
    "query_form_values": _report,
    "query_form_series": _report,
}

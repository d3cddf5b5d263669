"""Events, tags, catalog items and images: the endpoints Klaviyo's own MCP server calls.

GET /api/events filters, includes its metric and profile, sorts and pages like any collection;
POST /api/events records the event (it joins the event list, resolving or creating its profile
and metric) and answers 202. POST /api/images accepts an ``import_from_url`` and never fetches
it: the image is recorded with a made-up hosted URL and size 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klaviyo_sandbox import audiences
from klaviyo_sandbox.activity_data import new_image
from klaviyo_sandbox.activity_resources import TAG_KINDS, tag_ids
from klaviyo_sandbox.filters import parse_datetime
from klaviyo_sandbox.handlers import Context, Reply, collection, lookup, single
from klaviyo_sandbox.jsonapi import invalid
from klaviyo_sandbox.models import EventRec, Metric

_ATTR = "/data/attributes"
_TABLES = {"campaign": "campaigns", "flow": "flows", "list": "lists", "segment": "segments"}


def _tags_of(kind: str, ids_only: bool) -> Callable[[Context], Reply]:
    def handler(ctx: Context) -> Reply:
        owner = lookup(ctx, getattr(ctx.account, _TABLES[kind]), kind)
        found = tag_ids(ctx.account, kind, owner.id)
        if ids_only:
            return 200, {"data": [{"type": "tag", "id": i} for i in found], "links": {"self": ctx.url}}
        return 200, {"data": [ctx.render("tag", ctx.account.tags[i]) for i in found], "links": {"self": ctx.url}}

    return handler


def _tagged(kind: str) -> Callable[[Context], Reply]:
    def handler(ctx: Context) -> Reply:
        tag = lookup(ctx, ctx.account.tags, "tag")
        return 200, {"data": [{"type": kind, "id": i} for i in tag.on.get(kind, [])], "links": {"self": ctx.url}}

    return handler


def _data(ctx: Context, name: str) -> dict[str, Any]:
    value = (ctx.data["attributes"].get(name) or {}).get("data")
    if not isinstance(value, dict):
        raise invalid(f"'{name}.data' must be an object.", pointer=f"{_ATTR}/{name}/data")
    attrs = value.get("attributes")
    return attrs if isinstance(attrs, dict) else {}


def _event_metric(ctx: Context) -> str:
    attrs = _data(ctx, "metric")
    name = attrs.get("name")
    if not isinstance(name, str) or not name.strip():
        raise invalid("The event's metric needs a name.", pointer=f"{_ATTR}/metric/data/attributes/name")
    for metric in ctx.account.metrics.values():
        if metric.name == name:
            return metric.id
    integration = {"object": "integration", "id": "7FtS4J", "key": "api", "name": "API", "category": "API"}
    metric = Metric(ctx.account.ids.short(), name, integration, ctx.now, ctx.now)
    ctx.account.metrics[metric.id] = metric
    return metric.id


def _event_profile(ctx: Context) -> str:
    raw = (ctx.data["attributes"].get("profile") or {}).get("data") or {}
    wanted = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(wanted, str) and wanted in ctx.account.profiles:
        return wanted
    attrs = {k: v for k, v in _data(ctx, "profile").items() if k in ("email", "phone_number", "external_id")}
    if isinstance(attrs.get("email"), str):
        attrs["email"] = attrs["email"].strip().lower()
    existing = audiences.duplicate_profile(ctx, attrs)
    if existing is not None:
        return existing.id
    return audiences.new_profile(ctx, attrs).id


def create_event(ctx: Context) -> Reply:
    attrs = ctx.data["attributes"]
    if not isinstance(attrs.get("properties"), dict):
        raise invalid("'properties' must be an object.", pointer=f"{_ATTR}/properties")
    at = ctx.now
    if attrs.get("time") is not None:
        try:
            at = parse_datetime(str(attrs["time"]))
        except ValueError:
            raise invalid("'time' must be an ISO 8601 datetime.", pointer=f"{_ATTR}/time") from None
    properties = dict(attrs["properties"])
    if attrs.get("value") is not None:
        properties["$value"] = attrs["value"]
    event = EventRec(
        id=ctx.account.ids.short() + ctx.account.ids.short(),
        metric_id=_event_metric(ctx),
        profile_id=_event_profile(ctx),
        at=at,
        properties=properties,
        uuid=str(attrs.get("unique_id") or ctx.account.ids.ulid(ctx.now)),
    )
    log = ctx.account.event_log
    log.append(event)
    log.sort(key=lambda e: e.at)
    ctx.store.record(ctx.slug, "events", id=event.id, metric_id=event.metric_id, profile_id=event.profile_id)
    return 202, None


def upload_image_from_url(ctx: Context) -> Reply:
    attrs = ctx.data["attributes"]
    source = attrs.get("import_from_url")
    if not isinstance(source, str) or not source.startswith(("https://", "http://", "data:image/")):
        detail = "'import_from_url' must be an http(s) URL or an image data URI."
        raise invalid(detail, pointer=f"{_ATTR}/import_from_url")
    name = attrs.get("name") if isinstance(attrs.get("name"), str) else None
    image = new_image(ctx.account, name, source, bool(attrs.get("hidden", False)), ctx.now)
    ctx.store.record(ctx.slug, "images", id=image.id, source=source[:200])
    return single(ctx, "image", image, 201)


_IMAGE_MAGIC = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpeg", b"GIF8": "gif"}


def upload_image_from_file(ctx: Context) -> Reply:
    """POST /api/image-upload (multipart): a png, jpeg or gif of at most 5 MB, recorded with its size."""
    filename, content = ctx.form["file"]
    fmt = next((kind for magic, kind in _IMAGE_MAGIC.items() if content.startswith(magic)), None)
    if fmt is None:
        raise invalid("The file must be a jpeg, png or gif image.", pointer="/file")
    name = ctx.form.get("name", (None, b""))[1].decode("utf-8", "replace") or filename
    hidden = ctx.form.get("hidden", (None, b"false"))[1].strip().lower() == b"true"
    image = new_image(ctx.account, name, f"upload.{fmt}", hidden, ctx.now)
    image.size = len(content)
    ctx.store.record(ctx.slug, "images", id=image.id, source=f"file:{filename or ''}", size=image.size)
    return single(ctx, "image", image, 201)


def get_event(ctx: Context) -> Reply:
    return single(ctx, "event", lookup(ctx, {e.id: e for e in ctx.account.event_log}, "event"))


ACTIVITY_HANDLERS: dict[str, Callable[[Context], Reply]] = {
    # Oldest first, as Klaviyo lists them without a sort.
    "get_events": lambda ctx: collection(ctx, "event", ctx.account.event_log),
    "get_event": get_event,
    "create_event": create_event,
    "get_tags": lambda ctx: collection(ctx, "tag", ctx.account.tags.values()),
    "get_tag": lambda ctx: single(ctx, "tag", lookup(ctx, ctx.account.tags, "tag")),
    **{f"get_tags_for_{kind}": _tags_of(kind, ids_only=False) for kind in TAG_KINDS},
    **{f"get_tag_ids_for_{kind}": _tags_of(kind, ids_only=True) for kind in TAG_KINDS},
    **{f"get_{kind}_ids_for_tag": _tagged(kind) for kind in TAG_KINDS},
    "get_catalog_items": lambda ctx: collection(ctx, "catalog-item", ctx.account.catalog_items.values()),
    "upload_image_from_url": upload_image_from_url,
    "upload_image_from_file": upload_image_from_file,
    "get_images": lambda ctx: collection(ctx, "image", ctx.account.images.values()),
    "get_image": lambda ctx: single(ctx, "image", lookup(ctx, ctx.account.images, "image")),
}

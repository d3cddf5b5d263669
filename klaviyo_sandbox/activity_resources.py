"""JSON:API objects and filter views for events, tags, tag groups, catalog items and images.

resources.py and views.py merge these tables into theirs; this module imports neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from klaviyo_sandbox.jsonapi import relationship, resource
from klaviyo_sandbox.models import Account, CatalogItem, EventRec, Image, Tag

TAG_KINDS = ("campaign", "flow", "list", "segment")


@dataclass(frozen=True)
class TagGroupRef:
    id: str


@dataclass(frozen=True)
class Variant:
    id: str
    attributes: dict[str, Any]


def tag_ids(account: Account, kind: str, ident: str) -> list[str]:
    """The tags on one campaign, flow, list or segment."""
    return [t.id for t in account.tags.values() if ident in t.on.get(kind, ())]


def tags_on(kind: str) -> Callable[[Account, Any], list[Tag]]:
    """For ``include=tags``: the tag objects on one object of ``kind``."""
    return lambda account, obj: [account.tags[i] for i in tag_ids(account, kind, obj.id)]


def event_resource(account: Account, e: EventRec, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {
        "timestamp": int(e.at.timestamp()),
        "event_properties": e.properties,
        "datetime": e.at.isoformat(),
        "uuid": e.uuid,
    }
    path = f"/api/events/{e.id}"
    rels = {
        "profile": relationship("profile", e.profile_id, base, path, "profile"),
        "metric": relationship("metric", e.metric_id, base, path, "metric"),
        "attributions": relationship("attribution", [], base, path, "attributions"),
    }
    return resource("event", e.id, attributes, base, f"{path}/", rels)


def tag_resource(account: Account, t: Tag, base: str, extras: frozenset[str]) -> dict[str, Any]:
    path = f"/api/tags/{t.id}"
    rels: dict[str, Any] = {"tag-group": relationship("tag-group", t.group_id, base, path, "tag-group")}
    for kind in TAG_KINDS:
        rels[f"{kind}s"] = relationship(kind, t.on.get(kind, []), base, path, f"{kind}s")
    return resource("tag", t.id, {"name": t.name}, base, f"{path}/", rels)


def tag_group_resource(account: Account, group: TagGroupRef, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {"name": "Campaign themes", "exclusive": False, "default": False}
    path = f"/api/tag-groups/{group.id}"
    rels = {"tags": relationship("tag", [t.id for t in account.tags.values()], base, path, "tags")}
    return resource("tag-group", group.id, attributes, base, f"{path}/", rels)


def _item_fields(c: CatalogItem) -> dict[str, Any]:
    """What an item's variants share with it: description, price, link, images, dates."""
    return {
        "description": c.description,
        "price": c.price,
        "url": c.url,
        "image_full_url": c.image_url,
        "image_thumbnail_url": c.image_url,
        "images": [c.image_url],
        "custom_metadata": {},
        "published": c.published,
        "created": c.created.isoformat(),
        "updated": c.updated.isoformat(),
    }


def catalog_item_resource(account: Account, c: CatalogItem, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {"external_id": c.external_id, "title": c.title, **_item_fields(c)}
    path = f"/api/catalog-items/{c.id}"
    rels = {"variants": relationship("catalog-variant", c.variant_ids, base, path, "variants")}
    return resource("catalog-item", c.id, attributes, base, f"{path}/", rels)


def catalog_variants(c: CatalogItem) -> list[Variant]:
    """An item's variants: one per size, sharing the item's price."""
    out = []
    for ident in c.variant_ids:
        size = ident.rsplit("-", 1)[-1]
        out.append(
            Variant(
                ident,
                {
                    "external_id": ident.rsplit(":::", 1)[-1],
                    "title": f"{c.title} ({size})",
                    "sku": ident.rsplit(":::", 1)[-1],
                    "inventory_policy": 0,
                    "inventory_quantity": 25.0,
                    **_item_fields(c),
                },
            )
        )
    return out


def variant_resource(account: Account, v: Variant, base: str, extras: frozenset[str]) -> dict[str, Any]:
    path = f"/api/catalog-variants/{v.id}"
    rels = {"item": relationship("catalog-item", v.id.rsplit("-", 1)[0], base, path, "item")}
    return resource("catalog-variant", v.id, dict(v.attributes), base, f"{path}/", rels)


def image_resource(account: Account, i: Image, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {
        "name": i.name,
        "image_url": i.image_url,
        "format": i.format,
        "size": i.size,
        "hidden": i.hidden,
        "updated_at": i.updated_at.isoformat(),
    }
    return resource("image", i.id, attributes, base, f"/api/images/{i.id}/")


ACTIVITY_SERIALIZERS: dict[str, Callable[[Account, Any, str, frozenset[str]], dict[str, Any]]] = {
    "event": event_resource,
    "tag": tag_resource,
    "tag-group": tag_group_resource,
    "catalog-item": catalog_item_resource,
    "catalog-variant": variant_resource,
    "image": image_resource,
}

ACTIVITY_VIEWS: dict[str, Callable[[Account, Any], dict[str, Any]]] = {
    "event": lambda a, e: {
        "id": e.id,
        "metric_id": e.metric_id,
        "profile_id": e.profile_id,
        "profile": e.profile_id,  # has(profile)
        "metric": e.metric_id,  # has(metric)
        "datetime": e.at,
        "timestamp": e.at,
    },
    "tag": lambda a, t: {"id": t.id, "name": t.name},
    "catalog-item": lambda a, c: {
        "id": c.id,
        "ids": c.id,
        "title": c.title,
        "published": c.published,
        "category.id": c.category_id,
        "created": c.created,
        "updated": c.updated,
    },
    "image": lambda a, i: {
        "id": i.id,
        "name": i.name,
        "format": i.format,
        "size": i.size,
        "hidden": i.hidden,
        "updated_at": i.updated_at,
    },
}

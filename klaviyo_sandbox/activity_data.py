"""Seeded tags, a sample of recent events, a product catalog and images for each account.

These serve the endpoints Klaviyo's own MCP server reads (GET /api/events, /api/tags,
/api/catalog-items). Each account draws them from its own random stream (seeded by the world
seed and the account's slug), so they never shift the ids of the objects data.py generates.

The events are a sample: a few hundred recent events of the seeded metrics and profiles, one list
ordered by time. The reports and metric aggregates read the pre-aggregated index (series.py) and
do not count these (docs/sandbox.md says so).
"""

from __future__ import annotations

import random
import uuid
import zlib
from datetime import UTC, date, datetime, time, timedelta

from klaviyo_sandbox.ids import IdFactory
from klaviyo_sandbox.models import Account, CatalogItem, EventRec, Image, Tag

TAG_NAMES = ("Newsletter", "Promotion", "Holiday", "Retention", "VIP")
SAMPLE_EVENTS = 240  # per account, over the last SAMPLE_DAYS days before the anchor
SAMPLE_DAYS = 30
_PRODUCTS = (
    ("Trail Runner Shoe", 129.0),
    ("Down Jacket", 249.0),
    ("Merino Beanie", 29.5),
    ("Camp Stove", 89.0),
    ("Water Filter", 39.9),
    ("Headlamp", 44.0),
    ("Trekking Poles", 99.0),
    ("Sleeping Pad", 119.0),
)
# The metrics a sampled event is drawn from, with the properties their events carry.
_EVENT_METRICS = ("Placed Order", "Viewed Product", "Started Checkout", "Opened Email", "Clicked Email")


def _rng(world_seed: int, slug: str, purpose: str) -> random.Random:
    return random.Random(zlib.crc32(f"{world_seed}:{slug}:{purpose}".encode()))


def seed_activity(account: Account, world_seed: int, anchor: date) -> Account:
    rng = _rng(world_seed, account.seed.slug, "activity")
    ids = IdFactory(_rng(world_seed, account.seed.slug, "activity-ids"))
    end = datetime.combine(anchor, time(), tzinfo=UTC)
    _seed_tags(account, rng, ids)
    _seed_catalog(account, rng, ids, end)
    _seed_events(account, rng, ids, end)
    return account


def _seed_tags(account: Account, rng: random.Random, ids: IdFactory) -> None:
    group = str(uuid.UUID(int=rng.getrandbits(128)))
    tags = [Tag(id=str(uuid.UUID(int=rng.getrandbits(128))), name=n, group_id=group) for n in TAG_NAMES]
    pools = {
        "campaign": list(account.campaigns),
        "flow": list(account.flows),
        "list": list(account.lists),
        "segment": list(account.segments),
    }
    for kind, pool in pools.items():
        for i, ident in enumerate(pool):
            if i % 3 != 2:  # two of three objects carry one tag; the rest none
                tags[(i + len(kind)) % len(tags)].on.setdefault(kind, []).append(ident)
    account.tags = {t.id: t for t in tags}


def _seed_catalog(account: Account, rng: random.Random, ids: IdFactory, end: datetime) -> None:
    domain = account.seed.domain
    for i, (title, price) in enumerate(_PRODUCTS):
        external = f"SKU-{1000 + i}"
        created = end - timedelta(days=200 - 10 * i)
        item = CatalogItem(
            id=f"$custom:::$default:::{external}",
            external_id=external,
            title=title,
            description=f"{title} from the {account.seed.label} range.",
            price=price,
            url=f"https://www.{domain}/products/{external.lower()}",
            image_url=f"https://www.{domain}/images/{external.lower()}.jpg",
            published=i % 4 != 3,
            category_id=f"$custom:::$default:::{'footwear' if i == 0 else 'gear'}",
            created=created,
            updated=created + timedelta(days=rng.randrange(1, 30)),
            variant_ids=[f"$custom:::$default:::{external}-{size}" for size in ("S", "M")],
        )
        account.catalog_items[item.id] = item


def _seed_events(account: Account, rng: random.Random, ids: IdFactory, end: datetime) -> None:
    metric_ids = [account.metric_id(name) for name in _EVENT_METRICS]
    profiles = sorted(account.profiles)
    if not profiles:
        return
    items = list(account.catalog_items.values())
    out = []
    for _ in range(SAMPLE_EVENTS):
        at = end - timedelta(seconds=rng.randrange(1, SAMPLE_DAYS * 86400))
        metric = rng.choice(metric_ids)
        name = account.metrics[metric].name
        item = rng.choice(items)
        properties: dict[str, object] = {}
        if name in ("Placed Order", "Started Checkout"):
            quantity = rng.randrange(1, 4)
            properties = {"$value": round(item.price * quantity, 2), "ItemNames": [item.title], "Quantity": quantity}
        elif name == "Viewed Product":
            properties = {"ProductName": item.title, "ProductID": item.external_id, "Price": item.price}
        else:
            properties = {"Subject": "Seasonal picks", "$message": ""}
        out.append(
            EventRec(
                id=ids.short() + ids.short(),
                metric_id=metric,
                profile_id=rng.choice(profiles),
                at=at.replace(microsecond=0),
                properties=properties,
                uuid=str(uuid.UUID(int=rng.getrandbits(128))),
            )
        )
    out.sort(key=lambda e: e.at)
    account.event_log = out
    account.images = {}


def new_image(account: Account, name: str | None, source_url: str, hidden: bool, now: datetime) -> Image:
    """An image 'imported' from ``source_url``: the sandbox never fetches it; the hosted URL is made up."""
    ident = account.ids.numeric()
    stem = source_url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "image"
    fmt = stem.rsplit(".", 1)[-1].lower() if "." in stem else "png"
    if fmt not in ("jpg", "jpeg", "png", "gif", "webp"):
        fmt = "png"
    image = Image(
        id=ident,
        name=name or stem,
        image_url=f"https://d3k81ch9hvuctc.cloudfront.net/company/{account.id}/images/{ident}.{fmt}",
        format="jpeg" if fmt == "jpg" else fmt,
        size=0,
        hidden=hidden,
        updated_at=now,
    )
    account.images[ident] = image
    return image

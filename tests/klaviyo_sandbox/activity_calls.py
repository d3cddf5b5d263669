"""Successful calls to the events, tags, catalog and image endpoints (the fidelity walk uses them)."""

from __future__ import annotations

import httpx

from .helpers import post

# The smallest valid PNG (1x1, transparent): what an image upload sends.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5b0000000049454e44ae426082"
)


def activity_successes(c: httpx.Client, ids: dict[str, str]) -> list[httpx.Response]:
    tags = c.get("/api/tags", params={"include": "tag-group", "page[size]": "2"})
    tag = tags.json()["data"][0]["id"]
    events = c.get("/api/events", params={"include": "metric,profile", "sort": "-datetime", "page[size]": "3",
                                          "filter": f"equals(metric_id,\"{ids['metric']}\")"})  # fmt: skip
    image = post(c, "/api/images", {"type": "image", "attributes": {"import_from_url": "https://img.example/a.png"}})
    out = [
        tags,
        events,
        c.get(f"/api/events/{events.json()['data'][0]['id']}", params={"include": "metric"}),
        post(c, "/api/events", {"type": "event", "attributes": {"properties": {"Item": "Hat"}, "value": 9.5,
            "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": "event.fidelity@example.com"}}}}}),
        c.get(f"/api/tags/{tag}", params={"include": "tag-group"}),
        c.get("/api/catalog-items", params={"include": "variants", "filter": "equals(published,true)"}),
        image,
        c.get("/api/images"),
        c.get(f"/api/images/{image.json()['data']['id']}"),
        c.get("/api/lists", params={"include": "tags"}),
        c.post("/api/image-upload", files={"file": ("dot.png", PNG, "image/png")}, data={"name": "Dot"}),
    ]  # fmt: skip
    for kind, key in (("campaign", "campaign"), ("flow", "flow"), ("list", "list"), ("segment", "segment")):
        out.append(c.get(f"/api/{kind}s/{ids[key]}/tags"))
        out.append(c.get(f"/api/{kind}s/{ids[key]}/relationships/tags"))
        out.append(c.get(f"/api/tags/{tag}/relationships/{kind}s"))
    return out

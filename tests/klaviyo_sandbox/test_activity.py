"""Events, tags, catalog items and images: the endpoints Klaviyo's own MCP server calls."""

from __future__ import annotations

import httpx

from klaviyo_sandbox import Sandbox, SandboxConfig

from .activity_calls import PNG
from .conftest import ACME_KEY, ANCHOR, BASE, ClientFactory
from .helpers import error_of, post


def test_events_filter_include_and_page(fast: httpx.Client, fast_sandbox: Sandbox) -> None:
    acme = fast_sandbox.store.accounts["acme"]
    metric = acme.metric_id("Placed Order")
    wanted = [e.id for e in acme.event_log if e.metric_id == metric]
    seen: list[str] = []
    params = {"filter": f'equals(metric_id,"{metric}")', "include": "metric", "page[size]": "7"}
    doc = fast.get("/api/events", params=params).json()
    while True:
        seen += [e["id"] for e in doc["data"]]
        assert {i["id"] for i in doc["included"]} == {metric}
        if "next" not in doc["links"]:
            break
        doc = fast.get(doc["links"]["next"]).json()  # the full link, as a client follows it
    assert seen == wanted and len(wanted) > 7
    has = fast.get("/api/events", params={"filter": "has(profile)", "page[size]": "1000"}).json()["data"]
    assert len(has) == len(acme.event_log)  # every sampled event has a profile (Klaviyo's MCP server sends this)
    assert fast.get("/api/events", params={"filter": "has(profile,1)"}).status_code == 400
    newest = fast.get("/api/events", params={"sort": "-datetime", "page[size]": "1"}).json()["data"][0]
    assert newest["id"] == acme.event_log[-1].id


def test_a_created_event_is_listed_with_its_profile_and_metric(fast: httpx.Client, fast_sandbox: Sandbox) -> None:
    created = post(fast, "/api/events", {"type": "event", "attributes": {
        "properties": {"Plan": "Pro"}, "time": "2026-02-28T10:00:00+00:00", "value": 12.5,
        "metric": {"data": {"type": "metric", "attributes": {"name": "Upgraded Plan"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": "New.Buyer@Example.com"}}}}})  # fmt: skip
    assert created.status_code == 202 and created.content == b""
    acme = fast_sandbox.store.accounts["acme"]
    event = next(e for e in acme.event_log if e.properties.get("Plan") == "Pro")
    assert acme.metrics[event.metric_id].name == "Upgraded Plan" and event.properties["$value"] == 12.5
    assert acme.profiles[event.profile_id].attributes["email"] == "new.buyer@example.com"
    got = fast.get(f"/api/events/{event.id}", params={"include": "profile"}).json()
    assert got["included"][0]["id"] == event.profile_id
    assert fast_sandbox.state()["accounts"]["acme"]["events"][0]["id"] == event.id


def test_tags_and_their_relationships_agree(fast: httpx.Client, fast_sandbox: Sandbox) -> None:
    tags = fast.get("/api/tags", params={"include": "tag-group"}).json()
    assert tags["included"][0]["type"] == "tag-group"
    for tag in tags["data"]:
        for kind in ("campaign", "flow", "list", "segment"):
            ids = [x["id"] for x in fast.get(f"/api/tags/{tag['id']}/relationships/{kind}s").json()["data"]]
            for ident in ids:
                on = fast.get(f"/api/{kind}s/{ident}/relationships/tags").json()["data"]
                assert tag["id"] in [t["id"] for t in on]
    lists = fast.get("/api/lists", params={"include": "tags"}).json()
    tagged = {r["id"] for item in lists["data"] for r in item["relationships"]["tags"]["data"]}
    assert tagged and tagged == {t["id"] for t in lists["included"]}


def test_catalog_items_with_variants(fast: httpx.Client) -> None:
    doc = fast.get("/api/catalog-items", params={"include": "variants", "filter": "equals(published,true)"}).json()
    assert doc["data"] and all(item["attributes"]["published"] for item in doc["data"])
    variants = {v["id"] for v in doc["included"]}
    assert variants == {r["id"] for item in doc["data"] for r in item["relationships"]["variants"]["data"]}


def test_image_import_from_url_is_recorded_and_never_fetched(make_client: ClientFactory) -> None:
    # The sandbox's transport has no network: a fetch would raise; the answer comes from the record.
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR))
    c = make_client(sb)
    source = "https://images.example.net/summer/hero.JPG?v=2"
    created = post(c, "/api/images", {"type": "image", "attributes": {"import_from_url": source, "name": "Hero"}})
    assert created.status_code == 201
    image = created.json()["data"]
    assert image["attributes"]["name"] == "Hero" and image["attributes"]["format"] == "jpeg"
    assert not image["attributes"]["image_url"].startswith("https://images.example.net")
    assert [i["id"] for i in c.get("/api/images").json()["data"]] == [image["id"]]
    bad = post(c, "/api/images", {"type": "image", "attributes": {"import_from_url": "file:///etc/passwd"}})
    assert bad.status_code == 400


def test_image_file_upload_takes_multipart_images_only(make_client: ClientFactory) -> None:
    c = make_client(Sandbox(SandboxConfig(seed=7, anchor=ANCHOR)))
    uploaded = c.post("/api/image-upload", files={"file": ("dot.png", PNG, "image/png")}, data={"hidden": "true"})
    assert uploaded.status_code == 201, uploaded.text
    attrs = uploaded.json()["data"]["attributes"]
    assert (attrs["name"], attrs["format"], attrs["size"], attrs["hidden"]) == ("dot.png", "png", len(PNG), True)
    text = c.post("/api/image-upload", files={"file": ("notes.txt", b"hello", "text/plain")})
    assert text.status_code == 400 and error_of(text)["source"] == {"pointer": "/file"}
    missing = c.post("/api/image-upload", files={"name": (None, b"x")})
    assert missing.status_code == 400 and "'file' is required" in error_of(missing)["detail"]


def test_links_use_the_public_url_and_the_sdks_cursor_form_is_accepted() -> None:
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, public_url="https://a.klaviyo.com"))
    headers = {"Authorization": f"Klaviyo-API-Key {ACME_KEY}", "revision": "2026-07-15"}
    c = httpx.Client(transport=sb.transport, base_url=BASE.replace("https", "http"), headers=headers)
    first = c.get("/api/tags", params={"page[size]": "2"}).json()
    link = first["links"]["next"]
    assert link.startswith("https://a.klaviyo.com/api/tags?")
    # What klaviyo-api does with that link: split on 'page%5Bcursor%5D' and send the rest, '=' included.
    cursor = link.split("page%5Bcursor%5D")[-1].split("&")[0]
    assert cursor.startswith("=")
    second = c.get("/api/tags", params={"page[size]": "2", "page[cursor]": cursor}).json()
    assert {t["id"] for t in second["data"]}.isdisjoint({t["id"] for t in first["data"]})

"""GET collections: cursor pagination, page sizes, filters, sort, sparse fields, include, extras."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from klaviyo_sandbox import Sandbox, SandboxConfig
from klaviyo_sandbox.jsonapi import decode_cursor, encode_cursor

from .conftest import ANCHOR, BASE, ClientFactory
from .helpers import error_of

EMAIL = "equals(messages.channel,'email')"


def _walk(client: httpx.Client, path: str, params: dict[str, str]) -> tuple[list[dict[str, Any]], list[int]]:
    items: list[dict[str, Any]] = []
    sizes: list[int] = []
    response = client.get(path, params=params)
    while True:
        assert response.status_code == 200
        doc = response.json()
        items += doc["data"]
        sizes.append(len(doc["data"]))
        next_url = doc["links"].get("next")
        if not next_url:
            return items, sizes
        assert next_url.startswith(f"{BASE}{path}?")
        assert "page%5Bcursor%5D=" in next_url
        response = client.get(next_url)


def test_lists_page_at_the_spec_default_of_ten_until_exhausted(fast: httpx.Client) -> None:
    items, sizes = _walk(fast, "/api/lists", {})
    assert sizes == [10, 2]
    assert len({i["id"] for i in items}) == 12


def test_page_size_is_honoured_and_links_carry_other_params(fast: httpx.Client) -> None:
    items, sizes = _walk(fast, "/api/campaigns", {"filter": EMAIL, "page[size]": "7"})
    assert all(s == 7 for s in sizes[:-1])
    assert len(items) == len({i["id"] for i in items}) == sum(sizes)
    first = fast.get("/api/campaigns", params={"filter": EMAIL, "page[size]": "7"}).json()
    assert "filter=equals" in first["links"]["next"]
    second = fast.get(first["links"]["next"]).json()
    assert "prev" in second["links"]


@pytest.mark.slow
def test_campaigns_default_page_is_one_hundred(make_client: ClientFactory) -> None:
    large = make_client(Sandbox(SandboxConfig(seed=3, size="large", anchor=ANCHOR, time_scale=1e-6)))
    doc = large.get("/api/campaigns", params={"filter": EMAIL}).json()
    assert len(doc["data"]) == 100
    assert "next" in doc["links"]


@pytest.mark.parametrize(
    ("path", "size"), [("/api/lists", "11"), ("/api/lists", "0"), ("/api/profiles", "101"), ("/api/flows", "x")]
)
def test_page_size_outside_the_spec_bounds_is_400(fast: httpx.Client, path: str, size: str) -> None:
    response = fast.get(path, params={"page[size]": size})
    assert response.status_code == 400
    assert error_of(response)["source"] == {"parameter": "page[size]"}


def test_page_size_is_refused_where_the_spec_has_none(fast: httpx.Client) -> None:
    response = fast.get("/api/metrics", params={"page[size]": "5"})
    assert response.status_code == 400
    assert error_of(response)["source"] == {"parameter": "page[size]"}


def test_bad_cursor_is_400(fast: httpx.Client) -> None:
    response = fast.get("/api/lists", params={"page[cursor]": "not-a-cursor"})
    assert response.status_code == 400
    assert error_of(response)["source"] == {"parameter": "page[cursor]"}


def test_cursor_round_trip() -> None:
    assert decode_cursor(encode_cursor(40)) == 40


def test_campaigns_require_a_channel_filter(fast: httpx.Client) -> None:
    for params in ({}, {"filter": "equals(status,'Sent')"}):
        response = fast.get("/api/campaigns", params=params)
        assert response.status_code == 400
        assert error_of(response)["source"] == {"parameter": "filter"}
        assert "channel" in error_of(response)["detail"]


def test_channel_filter_splits_email_and_sms(fast: httpx.Client, make_client: ClientFactory) -> None:
    email, _ = _walk(fast, "/api/campaigns", {"filter": EMAIL})
    sms, _ = _walk(fast, "/api/campaigns", {"filter": 'equals(messages.channel,"sms")'})
    push, _ = _walk(fast, "/api/campaigns", {"filter": "equals(messages.channel,'mobile_push')"})
    assert email and sms and not push
    assert not {c["id"] for c in email} & {c["id"] for c in sms}
    statuses = {c["attributes"]["status"] for c in email + sms}
    assert {"Sent", "Draft", "Scheduled"} <= statuses


def test_combined_campaign_filters(fast: httpx.Client) -> None:
    everything, _ = _walk(fast, "/api/campaigns", {"filter": EMAIL})
    wanted = [c["id"] for c in everything[:3]]
    ids = ",".join(f"'{i}'" for i in wanted)
    doc = fast.get("/api/campaigns", params={"filter": f"and({EMAIL},any(id,[{ids}]))"}).json()
    assert sorted(c["id"] for c in doc["data"]) == sorted(wanted)
    drafts = fast.get("/api/campaigns", params={"filter": f"and({EMAIL},equals(status,'Draft'))"}).json()["data"]
    assert drafts and all(c["attributes"]["status"] == "Draft" for c in drafts)
    archived = fast.get("/api/campaigns", params={"filter": f"and({EMAIL},equals(archived,true))"}).json()["data"]
    assert archived and all(c["attributes"]["archived"] for c in archived)
    named = fast.get("/api/campaigns", params={"filter": f"and({EMAIL},contains(name,'Sale'))"}).json()["data"]
    assert all("Sale" in c["attributes"]["name"] for c in named)
    later = fast.get("/api/campaigns", params={"filter": f"and({EMAIL},greater-than(created_at,2026-01-01T00:00:00Z))"})
    assert all(c["attributes"]["created_at"] > "2026-01-01" for c in later.json()["data"])


def test_comma_joined_filters_read_as_and(fast: httpx.Client) -> None:
    """Klaviyo's official MCP server joins expressions with a comma; Klaviyo reads it as and(...)."""
    everything, _ = _walk(fast, "/api/campaigns", {"filter": "equals(messages.channel,'sms')"})
    wanted = [c["id"] for c in everything[:2]]
    ids = ",".join(f"'{i}'" for i in wanted)
    joined = fast.get("/api/campaigns", params={"filter": f"any(id,[{ids}]),equals(messages.channel,'sms')"})
    assert joined.status_code == 200 and sorted(c["id"] for c in joined.json()["data"]) == sorted(wanted)
    nested = fast.get("/api/campaigns", params={"filter": f"and(any(id,[{ids}]),equals(messages.channel,'sms'))"})
    assert joined.json()["data"] == nested.json()["data"]
    email = fast.get("/api/campaigns", params={"filter": f"any(id,[{ids}]),equals(messages.channel,'email')"})
    assert email.status_code == 200 and email.json()["data"] == []  # both hold: no SMS id is an email campaign


@pytest.mark.parametrize(
    ("path", "expression", "fragment"),
    [
        ("/api/campaigns", f"and({EMAIL},equals(status,'Mailed'))", "not a valid value"),
        ("/api/campaigns", f"and({EMAIL},equals(subject,'x'))", "not a valid filter field"),
        ("/api/campaigns", f"and({EMAIL},starts-with(name,'x'))", "not allowed"),
        ("/api/campaigns", f"or({EMAIL},{EMAIL})", "not supported"),
        ("/api/flows", "equals(archived,'yes')", "true or false"),
        ("/api/flows", "greater-than(created,'yesterday')", "datetime"),
        ("/api/flows", "equals(name,'x'", "expected"),
        ("/api/lists", "contains(name,'x')", "not allowed"),
        ("/api/metrics", "equals(name,'Placed Order')", "not a valid filter field"),
        ("/api/profiles", "equals(email,)", "unexpected"),
        ("/api/profiles", "equals(email,a@b.com)", "must be quoted"),
        ("/api/flows", "equals(status,live)", "must be quoted"),
        ("/api/flows", "equals(status,'live'),", "expected"),
    ],
)
def test_unsupported_filters_are_400_on_the_filter_parameter(
    fast: httpx.Client, path: str, expression: str, fragment: str
) -> None:
    response = fast.get(path, params={"filter": expression})
    assert response.status_code == 400
    error = error_of(response)
    assert error["source"] == {"parameter": "filter"}
    assert fragment in error["detail"]


def test_flow_filters_and_sort(fast: httpx.Client) -> None:
    live = fast.get("/api/flows", params={"filter": "equals(status,'live')"}).json()["data"]
    assert live and all(f["attributes"]["status"] == "live" for f in live)
    archived = fast.get("/api/flows", params={"filter": "equals(archived,true)"}).json()["data"]
    assert archived and all(f["attributes"]["archived"] for f in archived)
    metric = fast.get("/api/flows", params={"filter": "equals(trigger_type,'Metric')"}).json()["data"]
    assert metric and all(f["attributes"]["trigger_type"] == "Metric" for f in metric)
    names = [f["attributes"]["name"] for f in fast.get("/api/flows", params={"sort": "-name"}).json()["data"]]
    assert names == sorted(names, reverse=True)
    assert fast.get("/api/flows", params={"sort": "subject"}).status_code == 400


def test_flow_action_filters(fast: httpx.Client, make_client: ClientFactory) -> None:
    flows = fast.get("/api/flows").json()["data"]
    types: set[str] = set()
    for flow in flows:
        actions = fast.get(f"/api/flows/{flow['id']}/flow-actions").json()["data"]
        types |= {a["attributes"]["definition"]["type"] for a in actions}
    assert {"send-email", "send-sms", "time-delay", "conditional-split"} <= types
    first = flows[0]["id"]
    emails = fast.get(f"/api/flows/{first}/flow-actions", params={"filter": "equals(action_type,'send-email')"})
    assert all(a["attributes"]["definition"]["type"] == "send-email" for a in emails.json()["data"])


def test_profiles_by_email_and_id(fast: httpx.Client) -> None:
    everyone = fast.get("/api/profiles", params={"page[size]": "5"}).json()["data"]
    email = everyone[0]["attributes"]["email"]
    one = fast.get("/api/profiles", params={"filter": f'equals(email,"{email}")'}).json()["data"]
    assert [p["id"] for p in one] == [everyone[0]["id"]]
    emails = ",".join(f'"{p["attributes"]["email"]}"' for p in everyone[:3])
    three = fast.get("/api/profiles", params={"filter": f"any(email,[{emails}])"}).json()["data"]
    assert len(three) == 3
    ids = ",".join(f"'{p['id']}'" for p in everyone[:2])
    assert len(fast.get("/api/profiles", params={"filter": f"any(id,[{ids}])"}).json()["data"]) == 2
    assert fast.get("/api/profiles", params={"filter": 'equals(email,"nobody@example.com")'}).json()["data"] == []


def test_metrics_filter_by_integration(fast: httpx.Client) -> None:
    shopify = fast.get("/api/metrics", params={"filter": "equals(integration.name,'Shopify')"}).json()["data"]
    assert {m["attributes"]["name"] for m in shopify} >= {"Placed Order"}
    names = {m["attributes"]["name"] for m in fast.get("/api/metrics").json()["data"]}
    assert {"Received Email", "Opened Email", "Clicked SMS", "Subscribed to List", "Placed Order"} <= names


def test_sparse_fieldsets(fast: httpx.Client) -> None:
    doc = fast.get("/api/campaigns", params={"filter": EMAIL, "fields[campaign]": "name,audiences.included"}).json()
    attributes = doc["data"][0]["attributes"]
    assert set(attributes) == {"name", "audiences"}
    assert set(attributes["audiences"]) == {"included"}
    bad = fast.get("/api/campaigns", params={"filter": EMAIL, "fields[campaign]": "subject"})
    assert bad.status_code == 400
    assert error_of(bad)["source"] == {"parameter": "fields[campaign]"}


def test_include_returns_related_resources(fast: httpx.Client) -> None:
    doc = fast.get("/api/campaigns", params={"filter": EMAIL, "page[size]": "2", "include": "campaign-messages"}).json()
    wanted = {r["id"] for c in doc["data"] for r in c["relationships"]["campaign-messages"]["data"]}
    assert {i["id"] for i in doc["included"] if i["type"] == "campaign-message"} == wanted
    assert fast.get("/api/lists", params={"include": "campaigns"}).status_code == 400


def test_unknown_query_parameter_is_400(fast: httpx.Client) -> None:
    response = fast.get("/api/lists", params={"page_size": "5"})
    assert response.status_code == 400
    assert error_of(response)["source"] == {"parameter": "page_size"}


def test_profile_count_only_on_request(fast: httpx.Client) -> None:
    list_id = fast.get("/api/lists").json()["data"][0]["id"]
    plain = fast.get(f"/api/lists/{list_id}").json()["data"]["attributes"]
    assert "profile_count" not in plain
    counted = fast.get(f"/api/lists/{list_id}", params={"additional-fields[list]": "profile_count"}).json()
    assert counted["data"]["attributes"]["profile_count"] > 0
    assert fast.get("/api/lists", params={"additional-fields[list]": "profile_count"}).status_code == 400


def test_flow_definition_on_request(fast: httpx.Client) -> None:
    flow_id = fast.get("/api/flows").json()["data"][0]["id"]
    assert "definition" not in fast.get(f"/api/flows/{flow_id}").json()["data"]["attributes"]
    doc = fast.get(f"/api/flows/{flow_id}", params={"additional-fields[flow]": "definition"}).json()
    definition = doc["data"]["attributes"]["definition"]
    assert definition["entry_action_id"] == definition["actions"][0]["id"]

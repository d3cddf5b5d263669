"""Flows carry their trigger, and a live list-triggered flow records what it would have sent."""

from __future__ import annotations

import json
from typing import Any

import httpx

from klaviyo_sandbox import Sandbox

from .helpers import MEDIA, post


def _flows_of(client: httpx.Client, list_id: str) -> list[tuple[str, str]]:
    answer = client.get(f"/api/lists/{list_id}/flow-triggers", params={"fields[flow]": "name,status,archived"})
    assert answer.status_code == 200
    return [(f["attributes"]["name"], f["attributes"]["status"]) for f in answer.json()["data"]]


def test_joining_a_list_starts_its_live_flows_once_per_new_member(sandbox: Sandbox, client: httpx.Client) -> None:
    acc = sandbox.store.accounts["acme"]
    newsletter = next(r for r in acc.lists.values() if r.name == "Newsletter")
    sms = next(r for r in acc.lists.values() if r.name == "SMS Subscribers")
    assert _flows_of(client, newsletter.id) == [("Welcome Series", "live")]
    assert _flows_of(client, sms.id) == [("SMS Welcome", "manual")]  # archived and manual: it sends nothing
    pids = [p for p in acc.profiles if p not in newsletter.members][:2]
    body = [{"type": "profile", "id": pid} for pid in pids]
    assert post(client, f"/api/lists/{newsletter.id}/relationships/profiles", body).status_code == 204
    assert post(client, f"/api/lists/{newsletter.id}/relationships/profiles", body).status_code == 204  # members now
    assert post(client, f"/api/lists/{sms.id}/relationships/profiles", body).status_code == 204
    sends = sandbox.state()["accounts"]["acme"]["flow_sends"]
    welcome = next(f for f in acc.flows.values() if f.name == "Welcome Series")
    assert [(s["flow_id"], s["list_id"], s["profile_id"]) for s in sends] == [
        (welcome.id, newsletter.id, pid) for pid in pids
    ]
    assert sends[0]["message_ids"] == [m for a in welcome.action_ids for m in acc.actions[a].message_ids]
    client.request(
        "DELETE", f"/api/lists/{newsletter.id}/relationships/profiles",
        content=json.dumps({"data": body}), headers={"Content-Type": MEDIA},
    )  # fmt: skip
    assert post(client, f"/api/lists/{newsletter.id}/relationships/profiles", body).status_code == 204
    assert len(sandbox.state()["accounts"]["acme"]["flow_sends"]) == 2  # left and joined again: entered once
    sandbox.reset()
    assert sandbox.state()["accounts"]["acme"]["flow_sends"] == []


def test_flows_carry_their_trigger(fast_sandbox: Sandbox, fast: httpx.Client) -> None:
    """List, segment, metric and date-property triggers, in the definition and the relationships."""
    acc, client = fast_sandbox.store.accounts["acme"], fast
    kinds: dict[str, Any] = {}
    for flow in acc.flows.values():
        one = client.get(f"/api/flows/{flow.id}", params={"additional-fields[flow]": "definition"})
        triggers = one.json()["data"]["attributes"]["definition"]["triggers"]
        kinds.update({t["type"]: (flow, t) for t in triggers})
    assert {"list", "segment", "metric", "date"} <= set(kinds)
    flow, trigger = kinds["segment"]
    assert flow.trigger_type == "Added to List"  # Klaviyo names list and segment triggers alike
    segment = client.get(f"/api/segments/{trigger['id']}", params={"include": "flow-triggers"}).json()
    assert [f["id"] for f in segment["data"]["relationships"]["flow-triggers"]["data"]] == [flow.id]
    assert kinds["date"][1]["date_profile_property"] == "Birthday"

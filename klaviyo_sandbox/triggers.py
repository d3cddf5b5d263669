"""Flow triggers, and the sends a live list-triggered flow would make.

A flow whose trigger is a list ("Added to List") starts for every profile that joins the list while
the flow is live and not archived: Klaviyo sends its messages to them. The sandbox sends nothing, but
records each start in the account's ``flow_sends`` (``Sandbox.state()``), so a test can prove that a
write did, or did not, set off a flow. Profiles already on the list do not join it again and start
nothing, and a profile enters each list-triggered flow once, even if it leaves and joins again
(Klaviyo's help centre; the flow's ``reentry_criteria``). A bulk subscribe with
``historical_import`` bypasses the flows, as Klaviyo documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from klaviyo_sandbox.models import Account, Flow

if TYPE_CHECKING:
    from klaviyo_sandbox.store import Store


def triggered_by(account: Account, kind: str, ident: str) -> list[Flow]:
    """The flows whose trigger is the ``kind`` (list, segment, metric) object ``ident``."""
    return [f for f in account.flows.values() if f.trigger.get("type") == kind and f.trigger.get("id") == ident]


def sending(flow: Flow) -> bool:
    return flow.status == "live" and not flow.archived


def record_list_joins(store: Store, slug: str, account: Account, list_id: str, joined: Iterable[str], via: str) -> None:
    """Record one flow start per (live flow triggered by ``list_id``, profile that just joined it)."""
    profiles = list(joined)
    for flow in triggered_by(account, "list", list_id):
        if not sending(flow):
            continue
        messages = [m for aid in flow.action_ids for m in account.actions[aid].message_ids]
        entered = {r["profile_id"] for r in store.records[slug]["flow_sends"] if r["flow_id"] == flow.id}
        for pid in profiles:
            if pid in entered:
                continue  # a profile enters a list-triggered flow once (reentry_criteria)
            store.record(
                slug,
                "flow_sends",
                flow_id=flow.id,
                flow_name=flow.name,
                list_id=list_id,
                profile_id=pid,
                email=account.profiles[pid].attributes.get("email") if pid in account.profiles else None,
                message_ids=messages,
                via=via,
            )

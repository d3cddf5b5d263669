"""Seeded flows: triggers, action graphs (emails, SMS, delays, conditional splits) and messages.

A flow's ``updated`` is when its status last changed: manual and archived flows stop sending
then (events.py reads it), live flows send until the data ends, drafts never send.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from klaviyo_sandbox.models import Account, Flow, FlowAction, FlowMessage

# A step is ("email", subject) | ("sms", body) | ("delay", value, unit) | ("split", yes_steps, no_steps).
Step = tuple[Any, ...]

_BLUEPRINTS: tuple[tuple[str, str, list[Step]], ...] = (
    (
        "Welcome Series",
        "Added to List",
        [
            ("email", "Welcome to {org}!"),
            ("delay", 2, "days"),
            ("email", "The story behind {org}"),
            (
                "split",
                [("sms", "{org}: thanks for joining! Here is 10% off: WELCOME10")],
                [("email", "Still deciding? 10% off inside")],
            ),
        ],
    ),
    (
        "Abandoned Cart Reminder",
        "Metric:Started Checkout",
        [
            ("delay", 4, "hours"),
            ("email", "You left something behind"),
            ("delay", 1, "days"),
            ("sms", "{org}: your cart is waiting — checkout in one tap"),
        ],
    ),
    ("Browse Abandonment", "Metric:Viewed Product", [("delay", 2, "hours"), ("email", "Still looking?")]),
    (
        "Post-Purchase Thank You",
        "Metric:Placed Order",
        [
            ("delay", 1, "days"),
            ("email", "Thank you for your order"),
            ("delay", 14, "days"),
            ("email", "How are you liking it?"),
        ],
    ),
    ("Birthday Discount", "Date Based", [("email", "Happy birthday from {org}!")]),
    (
        "Customer Win-back",
        "Metric:Placed Order",
        [
            ("delay", 60, "days"),
            ("email", "We miss you"),
            ("delay", 7, "days"),
            ("email", "A little something to come back"),
        ],
    ),
    ("Price Drop Alert", "Price Drop", [("email", "Good news: a price just dropped")]),
    ("Low Inventory Nudge", "Low Inventory", [("email", "Almost gone")]),
    ("SMS Welcome", "Added to List", [("sms", "{org}: welcome! Reply STOP to opt out.")]),
    ("VIP Early Access (draft)", "Added to Segment", [("email", "Early access starts now")]),
)

# Cycled per flow index: status and whether it is archived.
_STATUS_CYCLE = (
    ("live", False),
    ("live", False),
    ("live", False),
    ("manual", False),
    ("live", False),
    ("live", False),
    ("draft", False),
    ("live", False),
    ("manual", True),
    ("draft", False),
)

_SMS_CONSENT = {
    "type": "profile-marketing-consent",
    "consent": {
        "channel": "sms",
        "can_receive_marketing": True,
        "consent_status": {"subscription": "subscribed", "filters": None},
    },
}


def _trigger(kind: str, account: Account, name: str) -> tuple[str, dict[str, Any] | None]:
    lists = list(account.lists)
    if kind == "Added to List":
        return kind, {"type": "list", "id": lists[2 if "SMS" in name else 0]}
    if kind == "Added to Segment":  # Klaviyo's trigger_type names list and segment triggers alike
        return "Added to List", {"type": "segment", "id": next(iter(account.segments))}
    if kind.startswith("Metric:"):
        return "Metric", {"type": "metric", "id": account.metric_id(kind.split(":", 1)[1]), "trigger_filter": None}
    if kind == "Date Based":
        return kind, {
            "type": "date",
            "date_field_type": "profile-property",
            "date_profile_property": "Birthday",
            "timedelta_unit_before_date": "days",
            "timedelta_value_before_date": 0,
            "recurrence_frequency": "annually",
            "trigger_time": "09:00:00",
            "timezone": "profile",
        }
    if kind == "Price Drop":
        return kind, {
            "type": "price-drop",
            "trigger_filter": None,
            "price_drop_amount_value": 10,
            "price_drop_amount_unit": "percent",
            "audience": ["viewed", "checkout-started"],
            "timeframe_days": 30,
            "currency_type": "usd",
        }
    if kind == "Low Inventory":
        return kind, {
            "type": "low-inventory",
            "product_level": "product",
            "trigger_filter": None,
            "inventory_count": 10,
            "audience": ["viewed", "added-to-cart"],
            "timeframe_days": 30,
        }
    return "Unconfigured", None


class _Builder:
    def __init__(self, account: Account, flow: Flow, status: str, rng: random.Random) -> None:
        self.account, self.flow, self.status, self.rng = account, flow, status, rng
        self.org = account.seed.label

    def chain(self, steps: list[Step]) -> str | None:
        """Create the steps' actions in order; returns the id of the first one."""
        first: str | None = None
        prev: FlowAction | None = None
        for step in steps:
            action = self.action(step)
            if prev is None:
                first = action.id
            else:
                prev.definition["links"]["next"] = action.id
            prev = action if action.action_type != "conditional-split" else None
        return first

    def action(self, step: Step) -> FlowAction:
        flow, account = self.flow, self.account
        aid = account.ids.numeric()
        kind = step[0]
        action = FlowAction(aid, flow.id, {"id": aid}, flow.created, flow.updated, [])
        account.actions[aid] = action
        flow.action_ids.append(aid)
        if kind == "delay":
            action.definition.update(
                type="time-delay",
                links={"next": None},
                data={
                    "unit": step[2],
                    "value": step[1],
                    "secondary_value": None,
                    "timezone": "profile",
                    "delay_until_time": None,
                    "delay_until_weekdays": None,
                },
            )
        elif kind == "split":
            action.definition.update(
                type="conditional-split",
                links={"next_if_true": None, "next_if_false": None},
                data={"profile_filter": {"condition_groups": [{"conditions": [dict(_SMS_CONSENT)]}]}},
            )
            action.definition["links"]["next_if_true"] = self.chain(step[1])
            action.definition["links"]["next_if_false"] = self.chain(step[2])
        else:
            message = self.message(action, kind, str(step[1]).format(org=self.org))
            action.definition.update(
                type="send-email" if kind == "email" else "send-sms",
                links={"next": None},
                data={"status": self.status, "message": message.definition},
            )
        return action

    def message(self, action: FlowAction, channel: str, text: str) -> FlowMessage:
        account, flow = self.account, self.flow
        mid = account.ids.ulid(flow.created + timedelta(seconds=len(account.flow_messages)))
        number = 1 + sum(len(account.actions[a].message_ids) for a in flow.action_ids)
        name = f"{flow.name} – {'Email' if channel == 'email' else 'SMS'} {number}"
        definition: dict[str, Any]
        if channel == "email":
            templates = list(account.templates)
            definition = {
                "from_email": f"hello@{account.seed.domain}",
                "from_label": self.org,
                "reply_to_email": None,
                "cc_email": None,
                "bcc_email": None,
                "subject_line": text,
                "preview_text": None,
                "template_id": templates[self.rng.randrange(len(templates))],
                "smart_sending_enabled": True,
                "transactional": False,
                "add_tracking_params": True,
                "custom_tracking_params": None,
                "additional_filters": None,
                "name": name,
                "id": mid,
            }
        else:
            definition = {
                "body": text,
                "image_id": None,
                "dynamic_image": None,
                "shorten_links": True,
                "include_contact_card": False,
                "add_org_prefix": True,
                "add_info_link": True,
                "add_opt_out_language": False,
                "smart_sending_enabled": True,
                "sms_quiet_hours_enabled": True,
                "transactional": False,
                "add_tracking_params": False,
                "custom_tracking_params": None,
                "template_id": None,
                "additional_filters": None,
                "name": name,
                "id": mid,
            }
        account.flow_messages[mid] = FlowMessage(
            mid, action.id, flow.id, channel, definition, flow.created, flow.updated
        )
        action.message_ids.append(mid)
        return account.flow_messages[mid]


def build_flows(account: Account, rng: random.Random, n: int, start: datetime, end: datetime) -> None:
    for i in range(n):
        name, trigger_kind, steps = _BLUEPRINTS[i % len(_BLUEPRINTS)]
        if i >= len(_BLUEPRINTS):
            name = f"{name} {i // len(_BLUEPRINTS) + 1}"
        status, archived = _STATUS_CYCLE[i % len(_STATUS_CYCLE)]
        created = start - timedelta(days=rng.randrange(0, 300)) + timedelta(days=rng.randrange(0, 200))
        if status == "live":
            updated = created + timedelta(days=rng.randrange(1, 20))
        elif status == "manual":
            updated = created + timedelta(days=rng.randrange(60, 250))
        else:
            updated = end - timedelta(days=rng.randrange(3, 40))
        updated = min(updated, end - timedelta(days=1))
        created = min(created, updated)
        trigger_type, trigger = _trigger(trigger_kind, account, name)
        fid = account.ids.short()
        flow = Flow(fid, name, status, archived, trigger_type, trigger or {}, created, updated, [])
        account.flows[fid] = flow
        _Builder(account, flow, status, rng).chain(steps)


def flow_definition(account: Account, flow: Flow) -> dict[str, Any]:
    """``additional-fields[flow]=definition``: trigger, actions and entry point."""
    return {
        "triggers": [flow.trigger] if flow.trigger else [],
        "profile_filter": None,
        "actions": [account.actions[aid].definition for aid in flow.action_ids],
        "entry_action_id": flow.action_ids[0] if flow.action_ids else None,
        # null, as the spec allows: Klaviyo's own SDK (24.0.0, generated from the same spec) reads
        # null, and fails to read an object here (its model of ``unit``, a oneOf of two string
        # enums, expects an object) — so an object is not what Klaviyo sends to its clients.
        "reentry_criteria": None,
    }

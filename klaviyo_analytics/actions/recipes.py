"""The plans each action proposes: pure functions from checked input to upstream calls.

Nothing here talks to Klaviyo; ``propose`` resolves and validates first, then calls these. Every
body is the one the notes (``klaviyo-api-notes.md``) give for revision 2026-07-15.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from klaviyo_analytics.actions.flow_guard import GUARD, MEMBERS_PATH
from klaviyo_analytics.actions.plans import batches, by_name, has_template, ref, step

LIST_STEP = "create_list"
# Properties every seeded profile carries, so demo data is easy to find and to delete.
SEEDED_BY = "klaviyo-mcp"
SPEND_STEP = 25.0


def create_list(name: str, opt_in_process: str | None, existing: list[str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {"name": name}
    if opt_in_process:
        attributes["opt_in_process"] = opt_in_process
    return step(
        LIST_STEP,
        f"Create the list {name!r}",
        "POST",
        "/api/lists",
        body={"data": {"type": "list", "attributes": attributes}},
        returns={"id": "id"},
        check=by_name("/api/lists", name, "created", existing),
    )


def demo_emails(account: str, list_key: str, count: int, domain: str) -> list[str]:
    """Stable per account and list: proposing the same seed again updates the same profiles."""
    tag = hashlib.sha256(f"{account}:{list_key}".encode()).hexdigest()[:6]
    return [f"vip.demo.{i}.{tag}@{domain}" for i in range(1, count + 1)]


def seed_profiles(emails: list[str], spend_90d: float) -> list[dict[str, Any]]:
    """One upsert per profile (POST /api/profile-import answers with the profile's id)."""
    steps = []
    for i, email in enumerate(emails, start=1):
        properties = {"demo_spend_90d": round(spend_90d + SPEND_STEP * (i - 1), 2), "demo_is_vip": True}
        attributes = {
            "email": email,
            "first_name": "Demo",
            "last_name": f"VIP {i}",
            "properties": {**properties, "demo_seeded_by": SEEDED_BY},
        }
        steps.append(
            step(
                f"import_profile_{i}",
                f"Create or update the demo profile {email}",
                "POST",
                "/api/profile-import",
                body={"data": {"type": "profile", "attributes": attributes}},
                returns={"id": "id"},
            )
        )
    return steps


def add_members(list_id: Any, list_label: str, profile_ids: list[Any], guard: dict[str, Any]) -> list[dict[str, Any]]:
    """``profile_ids`` are ids or references; at most 1000 per call, as Klaviyo allows. ``guard``:
    the list's live flows as proposed (flow_guard), checked again before each call."""
    chunks = batches(profile_ids)
    steps = []
    for n, chunk in enumerate(chunks, start=1):
        item = step(
            f"add_to_list_{n}" if len(chunks) > 1 else "add_to_list",
            f"Add {len(chunk)} profiles to {list_label}",
            "POST",
            MEMBERS_PATH,
            path_params={"list_id": list_id},
            body={"data": [{"type": "profile", "id": pid} for pid in chunk]},
        )
        item[GUARD] = dict(guard)
        steps.append(item)
    return steps


def template_name(campaign: str) -> str:
    return f"{campaign} (template)"


def campaign_filter(name: str, channel: str = "email") -> str:
    """Campaign names filter only with ``contains``, and a channel filter is required."""
    return f"and(equals(messages.channel,'{channel}'),contains(name,{quoted(name)}))"  # channel: email or sms


def campaign_draft(
    name: str,
    audience_id: str,
    content: dict[str, Any],
    template_html: str | None,
    existing: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """``existing``: ids of same-named campaigns and templates when proposed (never "ours")."""
    steps = []
    template = template_name(name)
    if template_html is not None:
        steps.append(
            step(
                "create_template",
                f"Create the HTML template {template!r}",
                "POST",
                "/api/templates",
                body={
                    "data": {
                        "type": "template",
                        "attributes": {"name": template, "editor_type": "CODE", "html": template_html},
                    }
                },
                returns={"id": "id"},
                check=by_name(
                    "/api/templates", template, "created", existing.get("template", []), match=("editor_type",)
                ),
            )
        )
    message = {
        "type": "campaign-message",
        "attributes": {"definition": {"channel": "email", "label": name, "content": content}},
    }
    # No send_strategy: the campaign stays a Draft until a person schedules or sends it in Klaviyo.
    attributes = {
        "name": name,
        "audiences": {"included": [audience_id]},
        "send_options": {"use_smart_sending": True},
        "campaign-messages": {"data": [message]},
    }
    name_check = by_name(
        "/api/campaigns",
        name,
        "created_at",
        existing.get("campaign", []),
        {"filter": campaign_filter(name), "include": "campaign-messages"},
        match=("audiences.included",),
    )
    steps.append(
        step(
            "create_campaign",
            f"Create the email campaign draft {name!r}",
            "POST",
            "/api/campaigns",
            body={"data": {"type": "campaign", "attributes": attributes}},
            returns={"id": "id", "message_id": "relationships.campaign-messages.data.0.id"},
            check=name_check,
        )
    )
    if template_html is not None:
        message_id = ref("create_campaign", "message_id")
        steps.append(
            step(
                "assign_template",
                "Assign the template to the campaign's message",
                "POST",
                "/api/campaign-message-assign-template",
                body={
                    "data": {
                        "type": "campaign-message",
                        "id": message_id,
                        "relationships": {"template": {"data": {"type": "template", "id": ref("create_template")}}},
                    }
                },
                returns={"template_id": "relationships.template.data.id"},
                check=has_template(message_id),
            )
        )
    return steps


def quoted(text: str) -> str:
    """A filter string literal: JSON quoting escapes quotes and backslashes."""
    return json.dumps(text, ensure_ascii=False)


def _metric(metric_id: str, measurement: str, operator: str, value: float, timeframe: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "profile-metric",
        "metric_id": metric_id,
        "measurement": measurement,
        "measurement_filter": {"type": "numeric", "operator": operator, "value": value},
        "timeframe_filter": timeframe,
        "metric_filters": None,
    }


def segment_definition(recipe: str, metric_id: str, min_value: float, days: int) -> dict[str, Any]:
    """Condition groups are ANDed (Klaviyo's docs); each group here holds one condition."""
    last_days = {"type": "date", "operator": "in-the-last", "unit": "day", "quantity": days}
    if recipe == "vip":
        value: float = int(min_value) if float(min_value).is_integer() else min_value
        groups = [[_metric(metric_id, "sum", "greater-than-or-equal", value, last_days)]]
    else:  # winback: ordered at some point, and not in the last `days` days
        ever = _metric(metric_id, "count", "greater-than", 0, {"type": "date", "operator": "alltime"})
        groups = [[ever], [_metric(metric_id, "count", "equals", 0, last_days)]]
    return {"condition_groups": [{"conditions": conditions} for conditions in groups]}


def create_segment(name: str, definition: dict[str, Any], existing: list[str]) -> dict[str, Any]:
    return step(
        "create_segment",
        f"Create the segment {name!r}",
        "POST",
        "/api/segments",
        body={"data": {"type": "segment", "attributes": {"name": name, "definition": definition, "is_starred": False}}},
        returns={"id": "id"},
        check=by_name("/api/segments", name, "created", existing),
    )


def set_flow_status(flow_id: str, flow_name: str, status: str) -> dict[str, Any]:
    return step(
        "set_flow_status",
        f"Set the flow {flow_name!r} to {status}",
        "PATCH",
        "/api/flows/{flow_id}",
        path_params={"flow_id": flow_id},
        body={"data": {"type": "flow", "id": flow_id, "attributes": {"status": status}}},
        returns={"status": "attributes.status"},
    )

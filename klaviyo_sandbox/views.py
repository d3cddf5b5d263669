"""What GET filters and sorts see of each resource type: field name -> value (datetimes aware)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klaviyo_sandbox.activity_resources import ACTIVITY_VIEWS
from klaviyo_sandbox.forms import VIEWS as FORM_VIEWS
from klaviyo_sandbox.models import Account

VIEWS: dict[str, Callable[[Account, Any], dict[str, Any]]] = {
    "campaign": lambda a, c: {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "archived": c.archived,
        "messages.channel": c.channel,
        "builder": c.extra.get("builder", "wizard"),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "scheduled_at": c.scheduled_at,
    },
    "flow": lambda a, f: {
        "id": f.id,
        "name": f.name,
        "status": f.status,
        "archived": f.archived,
        "created": f.created,
        "updated": f.updated,
        "trigger_type": f.trigger_type,
    },
    "flow-action": lambda a, x: {
        "id": x.id,
        "action_type": x.action_type,
        "status": x.status,
        "created": x.created,
        "updated": x.updated,
    },
    "flow-message": lambda a, m: {"id": m.id, "name": m.name, "created": m.created, "updated": m.updated},
    "list": lambda a, r: {"id": r.id, "name": r.name, "created": r.created, "updated": r.updated},
    "segment": lambda a, s: {
        "id": s.id,
        "name": s.name,
        "created": s.created,
        "updated": s.updated,
        "is_active": s.is_active,
        "is_starred": s.is_starred,
    },
    "template": lambda a, t: {"id": t.id, "name": t.name, "created": t.created, "updated": t.updated},
    "profile": lambda a, p: {
        "id": p.id,
        "email": p.attributes.get("email"),
        "phone_number": p.attributes.get("phone_number"),
        "external_id": p.attributes.get("external_id"),
        "created": p.created,
        "updated": p.updated,
    },
    "metric": lambda a, m: {
        "id": m.id,
        "name": m.name,
        "integration.name": m.integration.get("name"),
        "integration.category": m.integration.get("category"),
        "created": m.created,
    },
    **FORM_VIEWS,
    **ACTIVITY_VIEWS,
    # Revision 2026-10-15's per-message and per-campaign parts (omni_resources.py) are listed, never filtered.
    "campaign-variation": lambda a, m: {"id": m.id},
    "campaign-audience": lambda a, c: {"id": c.id},
}

"""How a proposal reads on the page: what it creates or changes, what already exists, time left,
readable bodies, links into Klaviyo's web app, and account text made inert.

Account text (names, subjects, emails, template HTML) is escaped by Jinja's autoescape; on top of
that :func:`visible` shows every control or format character (a bidi override U+202E, zero-width
characters, tag characters) as a visible ``U+XXXX`` badge instead of letting it act, and the
templates wrap account text in ``<bdi>`` so nothing can reorder the text around it.

Klaviyo's web-app URLs are not part of its API (neither the spec nor the API notes give them); the
patterns in :data:`UI_PATHS` are the ones the app uses for each object's page, kept in this one
table so a move on Klaviyo's side is a one-line fix.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from klaviyo_analytics.actions.plans import REF

KLAVIYO_APP = "https://www.klaviyo.com"
UI_PATHS = {
    "list": "/list/{id}/members",
    "segment": "/list/{id}/members",  # the app shows segments under /list/ too
    "campaign": "/campaign/{id}/wizard",
    "template": "/template/{id}/edit",
    "flow": "/flow/{id}/edit",
    "profile": "/profile/{id}",
}
# Which object a plan step's path writes, by its collection.
KINDS = {
    "/api/lists": "list",
    "/api/segments": "segment",
    "/api/templates": "template",
    "/api/campaigns": "campaign",
    "/api/profile-import": "profile",
    "/api/flows/{flow_id}": "flow",
    "/api/lists/{list_id}/relationships/profiles": "list",
    "/api/campaign-message-assign-template": "campaign",
    "/api/campaign-clone": "campaign",
    "/api/campaigns/{campaign_id}": "campaign",
    "/api/campaign-messages/{message_id}": "campaign message",
}
_KEPT = frozenset("\n\t\u200d")  # line layout in bodies; the emoji joiner is harmless


def visible(value: Any) -> Markup:
    """``value`` as escaped HTML with each control/format character shown as a ``U+XXXX`` badge."""
    out = []
    for char in str(value):
        if char not in _KEPT and unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"}:
            # The badge is built from the code point's hex digits only, never from the text itself.
            out.append(Markup(f'<span class="cc" title="hidden character">U+{ord(char):04X}</span>'))  # noqa: S704
        else:
            out.append(escape(char))
    return Markup("").join(out)


def pretty(body: Any) -> str:
    """A request body as indented JSON, non-ASCII kept readable (``visible`` shows what is hidden)."""
    return json.dumps(body, indent=2, ensure_ascii=False, sort_keys=False)


def ui_url(kind: str, object_id: Any) -> str | None:
    path = UI_PATHS.get(kind)
    if path is None or not isinstance(object_id, str) or not object_id.isalnum():
        return None
    return KLAVIYO_APP + path.format(id=object_id)


def time_left(expires_at: datetime, now: datetime) -> str:
    seconds = int((expires_at - now).total_seconds())
    if seconds <= 0:
        return "expired"
    hours, minutes = divmod(seconds // 60, 60)
    if hours >= 48:
        return f"{hours // 24} days left"
    if hours:
        return f"{hours} h {minutes} min left"
    return f"{max(minutes, 1)} min left"


def _attributes(item: dict[str, Any]) -> dict[str, Any]:
    data = (item.get("body") or {}).get("data")
    return (data.get("attributes") or {}) if isinstance(data, dict) else {}


def _target(value: Any) -> str:
    """An id, or the object an earlier step of this plan creates."""
    if isinstance(value, dict) and REF in value:
        return f"the one step '{str(value[REF]).split('.')[0]}' creates"
    return str(value)


@dataclass(frozen=True)
class Effect:
    verb: str  # "creates", "changes", "creates or updates"
    kind: str
    name: str  # account text: rendered through visible()
    target: str | None = None  # an existing object's id
    link: str | None = None


def effects(plan: tuple[dict[str, Any], ...]) -> list[Effect]:
    """The objects the plan creates or changes, one line each (profile upserts summed)."""
    out: list[Effect] = []
    profiles: list[str] = []
    for item in plan:
        kind, attributes = KINDS.get(item["path"], "object"), _attributes(item)
        params = item.get("path_params") or {}
        if item["path"] == "/api/profile-import":
            profiles.append(str(attributes.get("email") or "a profile"))
        elif item["method"] == "POST" and item["path"] in ("/api/lists", "/api/segments", "/api/templates"):
            out.append(Effect("creates", kind, str(attributes.get("name", ""))))
        elif item["path"] == "/api/campaigns":
            out.append(Effect("creates the draft", kind, str(attributes.get("name", ""))))
        elif item["path"] == "/api/campaign-clone":
            out.append(Effect("creates the draft copy", kind, str(attributes.get("new_name", ""))))
        elif item["path"] == "/api/lists/{list_id}/relationships/profiles":
            count = len((item.get("body") or {}).get("data") or [])
            target = params.get("list_id")
            out.append(Effect(f"adds {count} profiles to", kind, "", _target(target), ui_url(kind, target)))
        elif item["path"] == "/api/flows/{flow_id}":
            status = attributes.get("status")
            target = params.get("flow_id")
            out.append(Effect(f"sets to {status}", kind, "", _target(target), ui_url(kind, target)))
        else:
            out.append(Effect("changes", kind, str(item.get("note", "")), None))
    if profiles:
        shown = profiles[0] if len(profiles) == 1 else f"{profiles[0]} … {profiles[-1]}"
        out.insert(0, Effect(f"creates or updates {len(profiles)}", "profile", shown))
    return out


@dataclass(frozen=True)
class Existing:
    kind: str
    name: str
    ids: tuple[tuple[str, str | None], ...]  # (id, link in Klaviyo)


def existing(plan: tuple[dict[str, Any], ...]) -> list[Existing]:
    """Objects with the same name that were already in Klaviyo when the change was proposed."""
    out = []
    for item in plan:
        check = item.get("check") or {}
        if check.get("kind") == "by_name" and check.get("existing"):
            kind = KINDS.get(check.get("path", ""), "object")
            ids = tuple((str(i), ui_url(kind, i)) for i in check["existing"])
            out.append(Existing(kind, str(check.get("name", "")), ids))
    return out


@dataclass(frozen=True)
class Created:
    step: str
    kind: str
    object_id: str
    link: str | None
    found_existing: bool


def created_objects(plan: tuple[dict[str, Any], ...], results: dict[str, dict[str, Any]]) -> list[Created]:
    """What an execution made or changed, with links into Klaviyo."""
    out = []
    for item in plan:
        result = results.get(item["step_id"])
        if result is None:
            continue
        kind = KINDS.get(item["path"], "object")
        object_id = result.get("id") or (item.get("path_params") or {}).get("list_id" if kind == "list" else "flow_id")
        if isinstance(object_id, str):
            out.append(
                Created(item["step_id"], kind, object_id, ui_url(kind, object_id), bool(result.get("found_existing")))
            )
    return out

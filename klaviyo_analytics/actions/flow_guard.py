"""Adding profiles to a list can make Klaviyo send: the guard on every plan step that does it.

A flow triggered by a list ("Added to List") starts for every profile that joins the list while
the flow is live, and sends its emails and SMS to them. "This product never sends" holds only if
no write can start a send unannounced, so a step that adds members carries a ``guard``:

    {"kind": "list_flows", "list_id": <id or $ref>, "checked": true,
     "flows": [{"id": "…", "name": "…"}]}      # the live flows found when proposing

- **Proposing** reads ``GET /api/lists/{id}/flow-triggers``; a live flow (or a key that may not
  read flows, ``checked: false``) puts a BLOCKING warning in the proposal.
- **Approving** such a plan requires the approver's explicit acknowledgement
  (``acknowledge: ["live_flow_sends"]`` over REST, ``--acknowledge live_flow_sends`` in the CLI,
  a checkbox in the console); without it the approval is refused. The guard is part of the plan,
  so the signed approval covers exactly the flows that were acknowledged.
- **Executing** reads the list's flows again before the step: a live flow that was not
  acknowledged (turned on, or created, after the approval) stops the action before anything is
  added. A new list made by the same plan is checked the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from klaviyo_analytics.errors import ConflictError, InvalidArgumentError, MissingScopeError
from klaviyo_analytics.rules import untrusted

LIVE_FLOW_SENDS = "live_flow_sends"
ACKNOWLEDGEMENTS = (LIVE_FLOW_SENDS,)
GUARD = "guard"
KIND = "list_flows"
_FIELDS = {"fields[flow]": "name,status,archived"}
MEMBERS_PATH = "/api/lists/{list_id}/relationships/profiles"


class FlowReader(Protocol):
    def all(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]: ...


def _live(items: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    flows = []
    for item in items:
        attrs = item.get("attributes") or {}
        if attrs.get("status") == "live" and not attrs.get("archived"):
            flows.append({"id": str(item.get("id")), "name": untrusted.clean(str(attrs.get("name") or item.get("id")))})
    return flows


def path(list_id: str) -> str:
    return f"/api/lists/{list_id}/flow-triggers"


def propose_guard(reader: FlowReader | None, list_id: Any) -> dict[str, Any]:
    """The guard for a step adding members to ``list_id``; ``reader`` None: a list this plan creates."""
    if reader is None:
        return {"kind": KIND, "list_id": list_id, "checked": True, "flows": []}
    try:
        flows = _live(reader.all(path(str(list_id)), dict(_FIELDS)))
    except MissingScopeError:
        return {"kind": KIND, "list_id": list_id, "checked": False, "flows": []}
    return {"kind": KIND, "list_id": list_id, "checked": True, "flows": flows}


def blocking(guard: Mapping[str, Any]) -> bool:
    return bool(guard.get("flows")) or not guard.get("checked", False)


def warnings(guard: Mapping[str, Any], label: str) -> list[str]:
    how = f"the approver must acknowledge it ({LIVE_FLOW_SENDS}) or the approval is refused"
    if not guard.get("checked", False):
        return [
            f"BLOCKING: could not check which flows start when profiles join {label} (the API key cannot read "
            f"flows: flows:read); a live 'Added to List' flow would email every profile added. {how.capitalize()}."
        ]
    if not guard.get("flows"):
        return []
    names = ", ".join(f"{f['name']!r} ({f['id']})" for f in guard["flows"])
    return [
        f"BLOCKING: {label} triggers the live flow(s) {names}: Klaviyo will send their messages to every "
        f"profile this adds. {how.capitalize()}; to send nothing, pause the flow first (klaviyo_propose_pause_flow)."
    ]


def required(plan: Sequence[Mapping[str, Any]]) -> list[str]:
    """The acknowledgements approving ``plan`` needs."""
    needs = any(isinstance(s.get(GUARD), Mapping) and blocking(s[GUARD]) for s in plan)
    return [LIVE_FLOW_SENDS] if needs else []


def check_acknowledged(plan: Sequence[Mapping[str, Any]], acknowledge: Sequence[str] | None) -> list[str]:
    """The acknowledgements given, checked: unknown ones and missing ones are refused."""
    given = list(dict.fromkeys(acknowledge or ()))
    unknown = [a for a in given if a not in ACKNOWLEDGEMENTS]
    if unknown:
        raise InvalidArgumentError(
            f"unknown acknowledgement {unknown[0]!r}; allowed: {', '.join(ACKNOWLEDGEMENTS)}.", field="acknowledge"
        )
    missing = [a for a in required(plan) if a not in given]
    if missing:
        raise InvalidArgumentError(
            "this plan adds profiles to a list whose live flows send to everyone added (or which could not be "
            f"checked); read its BLOCKING warning, then approve with acknowledge={missing} to accept that.",
            field="acknowledge",
            required=missing,
        )
    return given


def guard_of(step: Mapping[str, Any]) -> dict[str, Any] | None:
    """The step's guard; a step that adds list members without one (a plan stored before guards
    existed) is guarded as if no live flow had been acknowledged."""
    guard = step.get(GUARD)
    if isinstance(guard, Mapping):
        return dict(guard)
    if step.get("method") == "POST" and step.get("path") == MEMBERS_PATH:
        return {"kind": KIND, "list_id": (step.get("path_params") or {}).get("list_id"), "checked": True, "flows": []}
    return None


def check_before_step(reader: FlowReader, guard: Mapping[str, Any]) -> None:
    """At execute time: refuse a live flow on the list that the approval did not acknowledge."""
    acknowledged = {f["id"] for f in guard.get("flows") or []}
    try:
        live = _live(reader.all(path(str(guard["list_id"])), dict(_FIELDS)))
    except MissingScopeError:
        if not guard.get("checked", False):
            return  # the approver acknowledged that the flows could not be checked
        raise
    new = [f for f in live if f["id"] not in acknowledged]
    if new:
        names = ", ".join(f"{f['name']!r} ({f['id']})" for f in new)
        raise ConflictError(
            f"the list {guard['list_id']} now triggers the live flow(s) {names}, which the approver did not "
            "acknowledge: nothing was added. Pause the flow or propose the change again.",
            flows=[f["id"] for f in new],
        )

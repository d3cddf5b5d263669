"""Plans: the exact upstream calls a proposal stores, and how the executor reads them back.

A plan is a list of steps, plain JSON that the ledger hashes. One step::

    {"step_id": "create_list", "note": "Create the list 'VIP'",
     "method": "POST", "path": "/api/lists/{list_id}/…", "path_params": {"list_id": …},
     "body": {…},
     "returns": {"id": "id"},   # what to journal from the answered resource (dotted paths)
     "check": {…}}              # how to find what an unconfirmed earlier attempt created

Any value may be a reference ``{"$ref": "<step_id>.<key>"}`` to what an earlier step returned; the
executor fills it in from the journal, so the stored plan (and its hash) stays exactly what the
person approved while the request it sends carries the real id.

Checks exist for creates that Klaviyo cannot deduplicate (lists, segments, templates, campaigns:
POSTing twice makes two). Steps without one are safe to repeat: profile-import upserts by email,
adding a member twice leaves one membership, and a flow PATCH sets the same status again.

- ``by_name``: GET ``path`` with ``params`` (a name filter) lists the objects named exactly
  ``name``, just before the create (the snapshot) and after a lost answer; ``existing`` are the
  same-named ids seen when proposing, ``match`` the planned attributes (dotted, besides the name)
  an adopted object must carry. The rule is ``adoption.py``'s: one new matching object is ours,
  anything less certain stops the action for a person (needs_attention).
- ``has_template``: GET a campaign message; a template on it means the assignment landed (the
  message belongs to a draft this same plan created, so nobody else assigned it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from klaviyo_analytics.actions.ledger import STEP_ID_KEY
from klaviyo_analytics.errors import ConflictError, KlaviyoMCPError

REF = "$ref"
_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_PATH_PARAM = re.compile(r"\{([a-z_]+)\}")
MEMBERSHIP_BATCH = 1000  # POST /api/lists/{id}/relationships/profiles takes at most 1000 profiles


def ref(step_id: str, key: str = "id") -> dict[str, str]:
    return {REF: f"{step_id}.{key}"}


def step(
    step_id: str,
    note: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    path_params: Mapping[str, Any] | None = None,
    returns: Mapping[str, str] | None = None,
    check: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {STEP_ID_KEY: step_id, "note": note, "method": method, "path": path}
    for key, value in (("path_params", path_params), ("body", body), ("returns", returns), ("check", check)):
        if value is not None:
            out[key] = dict(value) if isinstance(value, Mapping) else value
    return out


def name_filter(name: str) -> str:
    """``equals(name,["…"])``: JSON string quoting escapes quotes and backslashes in the name."""
    return f"equals(name,[{json.dumps(name, ensure_ascii=False)}])"


def by_name(
    path: str,
    name: str,
    created: str,
    existing: list[str],
    params: Mapping[str, str] | None = None,
    match: tuple[str, ...] = (),
) -> dict[str, Any]:
    out = {
        "kind": "by_name",
        "path": path,
        "params": dict(params or {"filter": name_filter(name)}),
        "name": name,
        "created": created,
        "existing": sorted(existing),
    }
    if match:
        out["match"] = list(match)
    return out


def has_template(message: Any) -> dict[str, Any]:
    return {
        "kind": "has_template",
        "path": "/api/campaign-messages/{message_id}",
        "path_params": {"message_id": message},
    }


def batches(items: list[Any], size: int | None = None) -> list[list[Any]]:
    size = size or MEMBERSHIP_BATCH
    return [items[i : i + size] for i in range(0, len(items), size)]


def _refs(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        if set(value) == {REF}:
            return [str(value[REF])]
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def has_refs(value: Any) -> bool:
    return bool(_refs(value))


def check_refs(plan: list[dict[str, Any]]) -> None:
    """Every reference names a key an *earlier* step returns (a plan-building bug otherwise)."""
    returned: dict[str, set[str]] = {}
    for item in plan:
        for target in _refs({k: v for k, v in item.items() if k != "returns"}):
            step_id, _, key = target.partition(".")
            if key not in returned.get(step_id, set()):
                raise KlaviyoMCPError(
                    f"plan step {item[STEP_ID_KEY]!r} needs {target!r}, which no earlier step returns"
                )
        returned[item[STEP_ID_KEY]] = set(item.get("returns") or {})


def resolve(value: Any, results: Mapping[str, Mapping[str, Any]]) -> Any:
    """``value`` with every reference replaced by the journaled result it names."""
    if isinstance(value, Mapping):
        if set(value) == {REF}:
            step_id, _, key = str(value[REF]).partition(".")
            found = (results.get(step_id) or {}).get(key)
            if found is None:
                raise ConflictError(
                    f"step {step_id!r} has no journaled {key!r}, which a later step needs; "
                    "the action cannot continue — read its trace",
                    ref=value[REF],
                )
            return found
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    return value


def render_path(template: str, path_params: Mapping[str, Any] | None) -> str:
    """The path with its ``{name}`` parameters filled in; ids only, so nothing can alter the route."""
    values = dict(path_params or {})

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if not isinstance(value, str) or not _ID.match(value):
            raise ConflictError(f"path parameter {match.group(1)!r} is not a Klaviyo id: {value!r}")
        return value

    return _PATH_PARAM.sub(fill, template)


def dig(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit():
            value = value[int(part)] if int(part) < len(value) else None
        elif isinstance(value, Mapping):
            value = value.get(part)
        else:
            return None
    return value


def extract(returns: Mapping[str, str] | None, resource: Any) -> dict[str, Any]:
    return {key: dig(resource, path) for key, path in (returns or {}).items()}

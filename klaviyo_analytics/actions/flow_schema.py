"""A flow definition the model assembled, checked before it is stored: the spec's schema, then the
rules a create needs, each failure reported by path (``actions[2].data.message.subject_line: required``).

The schema is ``flow_definition.schema.json`` (generated from Klaviyo's spec by
``scripts/extract_flow_schema.py``). Its actions and triggers are long ``anyOf`` lists, where a plain
validator only says "not valid under any of the given schemas"; so each action and trigger is
validated against the one alternative its ``type`` names, which gives the exact path. Then the
create rules (the spec's descriptions, and this product's): new actions carry a unique
``temporary_id`` and no ``id``, links and ``entry_action_id`` name one of them, one trigger, every
action draft, and an email has a subject and a template to review.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # in the lock through mcp (no stubs); the sandbox tests use it too

from klaviyo_analytics.errors import InvalidArgumentError

SCHEMA_PATH = Path(__file__).with_name("flow_definition.schema.json")
MAX_ERRORS = 20
_LINKS = ("next", "next_if_true", "next_if_false")


@cache
def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@cache
def _alternatives(prop: str) -> dict[str, str]:
    """{type value: component name} for FlowDefinition.<prop> items (actions, triggers)."""
    defs = _schema()["$defs"]
    out = {}
    for alt in defs["FlowDefinition"]["properties"][prop]["items"]["anyOf"]:
        name = alt["$ref"].rsplit("/", 1)[-1]
        enum = ((defs[name].get("properties") or {}).get("type") or {}).get("enum") or []
        for value in enum:
            if value is not None:
                out[str(value)] = name
    return out


def _path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _validate(instance: Any, component: str, where: list[Any]) -> list[tuple[str, str]]:
    schema = {"$defs": _schema()["$defs"], "$ref": f"#/$defs/{component}"}
    problems = []
    for error in jsonschema.Draft7Validator(schema).iter_errors(instance):
        parts = [*where, *error.path]
        if error.validator == "required":
            missing = str(error.message).split("'")[1] if "'" in str(error.message) else "?"
            problems.append((_path([*parts, missing]), "required"))
        else:
            problems.append((_path(parts), str(error.message)[:200]))
    return problems


def _typed(items: Any, prop: str) -> list[tuple[str, str]]:
    if not isinstance(items, list):
        return [(prop, "must be a list")]
    kinds = _alternatives(prop)
    problems: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in kinds:
            problems.append((f"{prop}[{i}].type", f"must be one of {', '.join(sorted(kinds))}"))
            continue
        problems += _validate(item, kinds[str(kind)], [prop, i])
    return problems


def _rules(definition: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    triggers, actions = definition.get("triggers") or [], definition.get("actions") or []
    if len(triggers) != 1:
        problems.append(("triggers", "give exactly one trigger"))
    if not actions:
        problems.append(("actions", "give at least one action"))
    temps: list[str] = []
    for i, action in enumerate(actions):
        if action.get("id") is not None:
            problems.append((f"actions[{i}].id", "not allowed on create; use temporary_id"))
        temp = action.get("temporary_id")
        if not isinstance(temp, str) or not temp or temp in temps:
            problems.append((f"actions[{i}].temporary_id", "required, and unique"))
        temps.append(str(temp))
        data = action.get("data") or {}
        if not isinstance(data, dict):  # the schema leaves some actions' data open (a code action's)
            problems.append((f"actions[{i}].data", "must be an object"))
            continue
        if data.get("status") not in (None, "draft"):
            problems.append((f"actions[{i}].data.status", "must be draft: a person turns the flow on in Klaviyo"))
        if action.get("type") == "send-email":
            message = data.get("message") or {}
            if not isinstance(message, dict):
                problems.append((f"actions[{i}].data.message", "must be an object"))
                continue
            for key in ("subject_line", "template_id"):
                if not message.get(key):
                    problems.append((f"actions[{i}].data.message.{key}", "required"))
    for i, action in enumerate(actions):
        for key in _LINKS:
            target = (action.get("links") or {}).get(key)
            if target is not None and target not in temps:
                problems.append((f"actions[{i}].links.{key}", f"{target!r} is no action's temporary_id"))
    if definition.get("entry_action_id") not in temps:
        problems.append(("entry_action_id", "must be one of the actions' temporary_id"))
    return problems


def check(definition: Any) -> dict[str, Any]:
    """The definition, unchanged, or an INVALID_ARGUMENT listing every problem by path."""
    if not isinstance(definition, dict):
        raise InvalidArgumentError(
            "definition must be an object (triggers, actions, entry_action_id).",
            field="definition",
            rule="flow_definition",
        )
    # the top level (profile_filter, reentry_criteria, entry_action_id); actions and triggers below
    problems = _validate({**definition, "actions": [], "triggers": []}, "FlowDefinition", [])
    for prop in ("triggers", "actions"):
        if prop not in definition:
            problems.append((prop, "required"))
        else:
            problems += _typed(definition[prop], prop)
    if not problems:
        problems = _rules(definition)
    if problems:
        shown = "; ".join(f"{path}: {problem}" for path, problem in problems[:5])
        raise InvalidArgumentError(
            f"the flow definition does not pass Klaviyo's schema: {shown}",
            field=f"definition.{problems[0][0]}",
            rule="flow_definition",
            errors=[{"path": path, "problem": problem} for path, problem in problems[:MAX_ERRORS]],
        )
    return definition


def references(definition: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """(the trigger, [(path, template id)]) a checked definition points at, to confirm they exist."""
    templates = [
        (f"definition.actions[{i}].data.message.template_id", str(a["data"]["message"]["template_id"]))
        for i, a in enumerate(definition["actions"])
        if a.get("type") == "send-email"
    ]
    return definition["triggers"][0], templates

"""POST /api/flows: a flow from an encoded definition, as Klaviyo's create_flow describes it.

New actions carry a ``temporary_id`` (an ``id`` is refused on create); links and
``entry_action_id`` name those temporary ids, and the sandbox replaces every one with a real id.
Choices where the spec is silent, each on the safe side: the flow and every action are stored as
**draft** whatever the body says (a created flow never sends until a person turns it on), only one
trigger is accepted ("Only one trigger is supported"), and a trigger list / segment / metric or a
message template that does not exist is a 400 pointing at it. The answer carries the definition.
"""

from __future__ import annotations

from typing import Any

from klaviyo_sandbox.handlers import Context, Reply, lookup, same_id, single
from klaviyo_sandbox.jsonapi import invalid
from klaviyo_sandbox.models import Account, Flow, FlowAction, FlowMessage
from klaviyo_sandbox.resources import flow_resource

_DEF = "/data/attributes/definition"
_TRIGGER_TYPES = {"list": "Added to List", "segment": "Added to List", "metric": "Metric", "date": "Date Based"}
_SEND = {"send-email": "email", "send-sms": "sms"}
_LINKS = ("next", "next_if_true", "next_if_false")
EMAIL_DEFAULTS: dict[str, Any] = {
    "from_email": None, "from_label": None, "reply_to_email": None, "cc_email": None, "bcc_email": None,
    "subject_line": None, "preview_text": None, "template_id": None, "smart_sending_enabled": True,
    "transactional": False, "add_tracking_params": False, "custom_tracking_params": None,
    "additional_filters": None,
}  # fmt: skip
DELAY_DEFAULTS: dict[str, Any] = {
    "unit": "days", "secondary_value": None, "timezone": "profile", "delay_until_time": None,
    "delay_until_weekdays": None,
}  # fmt: skip


def _trigger(account: Account, definition: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    triggers = definition.get("triggers")
    if not isinstance(triggers, list) or len(triggers) > 1:
        raise invalid("triggers must be a list of at most one trigger.", pointer=f"{_DEF}/triggers")
    if not triggers:
        return "Unconfigured", {}
    trigger = triggers[0]
    kind = trigger.get("type") if isinstance(trigger, dict) else None
    if kind not in _TRIGGER_TYPES:
        raise invalid(f"Unsupported trigger type {kind!r}.", pointer=f"{_DEF}/triggers/0/type")
    collections: dict[str, dict[str, Any]] = {
        "list": account.lists, "segment": account.segments, "metric": account.metrics,
    }  # fmt: skip
    known = collections.get(str(kind))
    if known is not None and trigger.get("id") not in known:
        raise invalid(f"The {kind} {trigger.get('id')!r} does not exist.", pointer=f"{_DEF}/triggers/0/id")
    stored = dict(trigger)
    if kind == "metric":
        stored.setdefault("trigger_filter", None)
    return _TRIGGER_TYPES[str(kind)], stored


def _temporary_ids(actions: Any) -> dict[str, str]:
    """{temporary_id: pointer}; every action has one, none has an id, no two share one."""
    if not isinstance(actions, list) or not actions:
        raise invalid("actions must list at least one action.", pointer=f"{_DEF}/actions")
    seen: dict[str, str] = {}
    for i, action in enumerate(actions):
        pointer = f"{_DEF}/actions/{i}"
        if not isinstance(action, dict) or not isinstance(action.get("type"), str):
            raise invalid("Each action needs a type.", pointer=f"{pointer}/type")
        if action.get("id") is not None:
            raise invalid("id is not allowed on create; use temporary_id.", pointer=f"{pointer}/id")
        temp = action.get("temporary_id")
        if not isinstance(temp, str) or not temp or temp in seen:
            raise invalid("Each new action needs a unique temporary_id.", pointer=f"{pointer}/temporary_id")
        seen[temp] = pointer
    return seen


def _data(account: Account, action: dict[str, Any], pointer: str) -> dict[str, Any]:
    data = dict(action.get("data") or {})
    kind = action["type"]
    if kind == "time-delay":
        value = data.get("value")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise invalid("data.value must be a whole number ≥ 0.", pointer=f"{pointer}/data/value")
        return DELAY_DEFAULTS | data
    if kind in _SEND:
        message = data.get("message")
        if not isinstance(message, dict):
            raise invalid("data.message is required for a send action.", pointer=f"{pointer}/data/message")
        template = message.get("template_id")
        if template is not None and template not in account.templates:
            raise invalid(f"Template {template!r} does not exist.", pointer=f"{pointer}/data/message/template_id")
        defaults = EMAIL_DEFAULTS if kind == "send-email" else {}
        data["message"] = defaults | {k: v for k, v in message.items() if k != "id"}
        data["status"] = "draft"  # a created flow never sends (module docstring)
    return data


def create_flow(ctx: Context) -> Reply:
    acc, attrs = ctx.account, ctx.data["attributes"]
    definition = attrs["definition"]
    if not isinstance(definition, dict):
        raise invalid("definition must be an object.", pointer=_DEF)
    trigger_type, trigger = _trigger(acc, definition)
    temps = _temporary_ids(definition.get("actions"))
    entry = definition.get("entry_action_id")
    if entry not in temps:
        raise invalid("entry_action_id must name one of the actions' temporary_id.", pointer=f"{_DEF}/entry_action_id")
    for action in definition["actions"]:
        for key in _LINKS:
            target = (action.get("links") or {}).get(key)
            if target is not None and target not in temps:
                pointer = f"{temps[action['temporary_id']]}/links"
                raise invalid(f"links.{key} {target!r} names no action.", pointer=pointer)
    datas = [_data(acc, a, temps[a["temporary_id"]]) for a in definition["actions"]]
    fid = acc.ids.short()
    flow = Flow(fid, str(attrs["name"]), "draft", False, trigger_type, trigger, ctx.now, ctx.now, [])
    real = {temp: acc.ids.numeric() for temp in temps}
    for action, data in zip(definition["actions"], datas, strict=True):
        aid = real[action["temporary_id"]]
        links = {k: real.get(v) if v else None for k, v in (action.get("links") or {"next": None}).items()}
        body = {"id": aid, "type": action["type"], "links": links, "data": data}
        stored = FlowAction(aid, fid, body, ctx.now, ctx.now, [])
        acc.actions[aid] = stored
        flow.action_ids.append(aid)
        if action["type"] in _SEND:
            _message(acc, flow, stored, _SEND[action["type"]], data["message"], ctx)
    entry_id = real[str(entry)]
    flow.action_ids = sorted(flow.action_ids, key=lambda a: a != entry_id)  # the entry first (a stable sort)
    acc.flows[fid] = flow
    ctx.store.record(ctx.slug, "flows", id=fid, name=flow.name, action_ids=list(flow.action_ids))
    return 201, {"data": flow_resource(acc, flow, ctx.base, frozenset({"definition"})), "links": {"self": ctx.url}}


def _message(acc: Account, flow: Flow, action: FlowAction, channel: str, message: dict[str, Any], ctx: Context) -> None:
    mid = acc.ids.ulid(ctx.now)
    number = sum(len(acc.actions[a].message_ids) for a in flow.action_ids) + 1
    message["name"] = message.get("name") or f"{flow.name} – {'Email' if channel == 'email' else 'SMS'} {number}"
    message["id"] = mid
    acc.flow_messages[mid] = FlowMessage(mid, action.id, flow.id, channel, message, ctx.now, ctx.now)
    action.message_ids.append(mid)


def delete_flow(ctx: Context) -> Reply:
    """DELETE /api/flows/{id} → 204: the flow, its actions and their messages are gone."""
    acc = ctx.account
    flow = lookup(ctx, acc.flows, "flow")
    messages = [m for aid in flow.action_ids for m in acc.actions[aid].message_ids]
    for mid in messages:
        acc.flow_messages.pop(mid, None)
    for aid in flow.action_ids:
        acc.actions.pop(aid, None)
    del acc.flows[flow.id]
    ctx.store.record(ctx.slug, "flow_deletions", id=flow.id, name=flow.name, status=flow.status, message_ids=messages)
    return 204, None


def update_flow_action(ctx: Context) -> Reply:
    """PATCH /api/flow-actions/{id}: a new definition for the action (same type, same links); the
    message of a send action follows it, keeping its id and name."""
    acc = ctx.account
    action = lookup(ctx, acc.actions, "flow-action")
    same_id(ctx)
    new = ctx.data["attributes"]["definition"]
    pointer = "/data/attributes/definition"
    if not isinstance(new, dict) or new.get("type") != action.action_type:
        raise invalid(f"definition.type must stay {action.action_type!r}.", pointer=f"{pointer}/type")
    data = _data(acc, {"type": new["type"], "data": new.get("data")}, pointer)
    if action.action_type in _SEND:
        for mid in action.message_ids:
            message = acc.flow_messages[mid]
            data["message"] = {**data["message"], "id": mid, "name": message.name}
            message.definition, message.updated = data["message"], ctx.now
        data["status"] = (action.definition.get("data") or {}).get("status", "draft")  # status is the flow's
    action.definition = {**action.definition, "data": data}
    action.updated = ctx.now
    ctx.store.record(ctx.slug, "flow_action_updates", id=action.id, flow_id=action.flow_id, data=data)
    return single(ctx, "flow-action", action)

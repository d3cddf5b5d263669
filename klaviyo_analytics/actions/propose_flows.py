"""klaviyo_propose_flow: a recipe (flow_recipes.RECIPES) and a marketer's choices become a stored plan.

Everything is checked before anything is stored: the parameters (flow_recipes raises a field-named
INVALID_ARGUMENT), the trigger (the list, segment or metric must exist in this account) and the
sender. The proposal's summary is the flow's outline; its plan holds the exact definition.
"""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.actions import flow_recipes, flow_schema, preconditions
from klaviyo_analytics.actions.plans import step
from klaviyo_analytics.actions.proposing import Reader, exists_warning, shown_name, store
from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.rules import untrusted
from klaviyo_analytics.rules.sentences import end_sentence
from klaviyo_analytics.schemas.actions import ActionView, FlowParams, UpdateFlowParams
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult

_KINDS = {"list": "/api/lists", "segment": "/api/segments", "metric": "/api/metrics"}


def _trigger(reader: Reader, recipe: flow_recipes.Recipe, trigger_id: str | None) -> tuple[dict[str, Any], str]:
    """(the definition's trigger, how the outline names it)."""
    kind = recipe.trigger
    if trigger_id is None and recipe.default_metric is not None:
        found = [
            m
            for m in reader.all("/api/metrics", {})
            if (m.get("attributes") or {}).get("name") == recipe.default_metric
        ]
        if not found:
            raise InvalidArgumentError(
                f"this account has no {recipe.default_metric!r} metric; give trigger_id (a metric id).",
                field="trigger_id",
                rule="account_state",
            )
        trigger_id = str(found[0]["id"])
    if trigger_id is None:
        raise InvalidArgumentError(
            f"this recipe starts from a {kind}: give its id as trigger_id.", field="trigger_id", rule="flow_recipe"
        )
    resource = reader.require(f"{_KINDS[kind]}/{trigger_id}", "trigger_id", kind)
    trigger: dict[str, Any] = {"type": kind, "id": trigger_id}
    if kind == "metric":
        trigger["trigger_filter"] = None
        return trigger, f"trigger: {shown_name(resource)!r} (metric {trigger_id})"
    return trigger, f"trigger: added to {kind} {shown_name(resource)!r} ({trigger_id})"


def _sender(reader: Reader, params: FlowParams) -> dict[str, Any]:
    accounts = reader.all("/api/accounts", {})
    contact = ((accounts[0] if accounts else {}).get("attributes") or {}).get("contact_information") or {}
    from_email = params.from_email or contact.get("default_sender_email")
    if not from_email:
        raise InvalidArgumentError(
            "the account has no default sender; give from_email.", field="from_email", rule="account_state"
        )
    return {"from_email": from_email, "from_label": contact.get("default_sender_name")}


def propose_flow(service: KlaviyoService, params: FlowParams, ctx: CallContext) -> ToolResult[ActionView]:
    account = service.account(params.account)
    if params.recipe == "custom":
        return _custom(service, params, ctx)
    if params.definition is not None:
        raise InvalidArgumentError(
            "definition goes with recipe custom; a recipe builds its own.", field="definition", rule="flow_recipe"
        )
    recipe = flow_recipes.RECIPES[params.recipe]
    send_time = flow_recipes.check_send_time(params.send_time)
    flow_recipes.check_name(params.name, recipe.title)
    # the recipe's shape is checked before anything is read; subjects name the sender
    flow_recipes.emails_of(recipe, account.label, params.emails, params.delays, params.subjects)
    reader = Reader(service, account, ctx)
    trigger, trigger_text = _trigger(reader, recipe, params.trigger_id)
    sender = _sender(reader, params)
    org = str(sender.get("from_label") or account.label)
    emails = flow_recipes.emails_of(recipe, org, params.emails, params.delays, params.subjects)
    name = flow_recipes.check_name(params.name, recipe.title)
    existing = {"flow": reader.same_name("/api/flows", name, {"filter": flow_recipes.flow_filter(name)})}
    warnings = exists_warning("flow", name, existing["flow"])
    for i in range(1, len(emails) + 1):
        template = f"{name} – Email {i} (template)"
        existing[template] = reader.same_name("/api/templates", template)
        warnings += exists_warning("template", template, existing[template])
    build = {"trigger": trigger, "emails": emails, "sender": sender, "smart_sending": params.smart_sending,
             "send_time": send_time}  # fmt: skip
    plan = flow_recipes.plan(name, emails, org, build, existing)
    steps = flow_recipes.outline(trigger_text, emails, send_time)
    warnings += [
        "The flow is created as a draft: nothing sends until a person reviews it and turns it on in Klaviyo.",
        f"Each email gets a plain starting template ({len(emails)} created first); edit them in Klaviyo.",
    ]
    if not params.smart_sending:
        warnings.append("Smart sending is off: a profile may get these emails right after another message.")
    summary = f"Create the draft flow {name!r} ({params.recipe}): " + " → ".join(steps) + "."
    return store(service, account, f"flow_{params.recipe}", params, plan, summary, warnings, ctx)


def _custom_outline(reader: Reader, definition: dict[str, Any]) -> list[str]:
    """The definition's steps in link order from its entry (a split shows its yes branch first)."""
    trigger, templates = flow_schema.references(definition)
    kind = str(trigger.get("type"))
    if kind in _KINDS:
        resource = reader.require(f"{_KINDS[kind]}/{trigger.get('id')}", "definition.triggers[0].id", kind)
        steps = [f"trigger: {kind} {shown_name(resource)!r} ({trigger.get('id')})"]
    else:
        steps = [f"trigger: {kind}"]
    for field, template_id in templates:
        reader.require(f"/api/templates/{template_id}", field, "template")
    by_id = {a["temporary_id"]: a for a in definition["actions"]}
    seen: set[str] = set()
    todo = [definition["entry_action_id"]]
    while todo:
        current = todo.pop(0)
        if current is None or current in seen:
            continue
        seen.add(current)
        action = by_id[current]
        data = action.get("data") or {}
        if action["type"] == "time-delay":
            steps.append(flow_recipes.wait_text((int(data.get("value") or 0), str(data.get("unit") or "days"))))
        elif action["type"] == "send-email":
            steps.append(f"email {str((data.get('message') or {}).get('subject_line'))!r}")
        else:
            steps.append(str(action["type"]))
        links = action.get("links") or {}
        todo += [links.get(key) for key in ("next", "next_if_true", "next_if_false")]
    return steps


def _custom(service: KlaviyoService, params: FlowParams, ctx: CallContext) -> ToolResult[ActionView]:
    account = service.account(params.account)
    if params.definition is None:
        raise InvalidArgumentError(
            "recipe custom needs definition (Klaviyo's flow definition).", field="definition", rule="flow_recipe"
        )
    if params.name is None:
        raise InvalidArgumentError("a custom flow needs a name.", field="name", rule="flow_recipe")
    name = flow_recipes.check_name(params.name, "")
    definition = flow_schema.check(params.definition)
    reader = Reader(service, account, ctx)
    steps = _custom_outline(reader, definition)
    existing = reader.same_name("/api/flows", name, {"filter": flow_recipes.flow_filter(name)})
    warnings = exists_warning("flow", name, existing)
    warnings.append("The flow is created as a draft: nothing sends until a person turns it on in Klaviyo.")
    plan = [flow_recipes.create_flow_step(name, definition, existing)]
    summary = f"Create the draft flow {name!r} (custom definition): " + " → ".join(steps) + "."
    return store(service, account, "flow_custom", params, plan, summary, warnings, ctx)


def _edited(definition: dict[str, Any], params: UpdateFlowParams) -> tuple[dict[str, Any], str]:
    """(the action's new definition, what changes, in words); the one field its type takes."""
    kind, data = definition.get("type"), dict(definition.get("data") or {})
    if kind == "send-email" and params.subject is not None and params.delay is None:
        message = dict(data.get("message") or {})
        before, message["subject_line"] = (
            message.get("subject_line"),
            flow_recipes.check_subject(params.subject, "subject"),
        )
        return {**definition, "data": {**data, "message": message}}, f"subject {before!r} → {message['subject_line']!r}"
    if kind == "time-delay" and params.delay is not None and params.subject is None:
        value, unit = flow_recipes.parse_delay(params.delay, "delay")
        before = flow_recipes.wait_text((int(data.get("value") or 0), str(data.get("unit") or "days")))
        after = flow_recipes.wait_text((value, unit))
        return {**definition, "data": {**data, "value": value, "unit": unit}}, f"{before} → {after}"
    wanted = "subject" if kind == "send-email" else "delay" if kind == "time-delay" else None
    if wanted is None:
        raise InvalidArgumentError(
            f"only emails and waits are edited here, not {kind!r}.", field="flow_action_id", rule="flow_recipe"
        )
    raise InvalidArgumentError(f"this action is a {kind}: give {wanted} (only).", field=wanted, rule="flow_recipe")


def propose_update_flow(service: KlaviyoService, params: UpdateFlowParams, ctx: CallContext) -> ToolResult[ActionView]:
    account = service.account(params.account)
    reader = Reader(service, account, ctx)
    flow = reader.require(f"/api/flows/{params.flow_id}", "flow_id", "flow")
    status = (flow.get("attributes") or {}).get("status")
    label = f"the flow {shown_name(flow)!r} ({params.flow_id})"
    if status != "draft":
        raise InvalidArgumentError(
            f"{label} is {status}: only draft flows are edited here.", field="flow_id", rule="account_state"
        )
    action = reader.require(f"/api/flow-actions/{params.flow_action_id}", "flow_action_id", "flow action")
    if ((action.get("relationships") or {}).get("flow") or {}).get("data", {}).get("id") != params.flow_id:
        raise InvalidArgumentError(
            f"action {params.flow_action_id} is not in {label}.", field="flow_action_id", rule="account_state"
        )
    definition, change = _edited((action.get("attributes") or {}).get("definition") or {}, params)
    body = {"data": {"type": "flow-action", "id": params.flow_action_id, "attributes": {"definition": definition}}}
    item = step(
        "update_flow_action", f"Edit action {params.flow_action_id} of {label}", "PATCH",
        "/api/flow-actions/{flow_action_id}", path_params={"flow_action_id": params.flow_action_id}, body=body,
        returns={"id": "id"},
    )  # fmt: skip
    item["precondition"] = preconditions.flow_not_live(params.flow_id)
    summary = end_sentence(f"In the draft {label}, action {params.flow_action_id}: {untrusted.clean(change)}")
    warnings = ["The flow stays a draft; the change shows in Klaviyo at once."]
    return store(service, account, "update_flow", params, [item], summary, warnings, ctx)

"""Secrets a plan needs but must never hold: declared by the tool, never found by the executor.

A webhook's signing secret (``secret_key``) goes to Klaviyo in the create request and nowhere
else. The plan step that sends it holds ``{"$secret_env": "<NAME>"}`` in that one field *and*
declares it beside the body::

    "secrets": [{"field": "data.attributes.secret_key", "env": "KLAVIYO_WEBHOOK_SECRET_SHOP"}]

The declaration is part of the plan: hashed, signed with the approval, shown to the approver in
words (:func:`describe`). :func:`check_plan` is the one rule, run at propose (``proposing.store``), at
approve and at execute, before any call: a declaration is honoured only for an allowed
(method, path, field) and a name with the allowed prefix; a placeholder anywhere else — a custom
flow's code data, template HTML, a name, a plan stored before declarations existed — refuses the
whole plan. :func:`fill` swaps in values only at declared fields, after registering each value
with redact.py, so the call record, trace, logs, errors and the response cache never hold it.

Free-form input cannot carry a placeholder at all (:func:`refuse_in_input`, on the tool path of
every write tool): the error names the field.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from klaviyo_analytics.errors import ConflictError, InvalidArgumentError
from klaviyo_analytics.klaviyo.redact import SECRET_ENV_PREFIX, register_secret

KEY = "$secret_env"
DECLARED = "secrets"  # the step key holding its declarations
MIN_LENGTH = 16  # shorter is a weak HMAC key, and too short for redact.py to scrub safely
NAME = re.compile(rf"{SECRET_ENV_PREFIX}[A-Z0-9_]{{0,40}}")
# The only places a tool may declare a secret: (method, path template, dotted field of the body).
ALLOWED = frozenset({("POST", "/api/webhooks", "data.attributes.secret_key")})
# What a free-form string must not contain: the key, in any case (a JSON string of a placeholder too).
_MARKER = KEY.lower()


def ref(name: str) -> dict[str, str]:
    return {KEY: name}


def declare(field: str, name: str) -> dict[str, str]:
    return {"field": field, "env": name}


def value_of(name: str, *, field: str | None = None) -> str:
    """The variable's value, registered for redaction; a clear error (never the value) if unusable."""
    if not NAME.fullmatch(name):
        raise InvalidArgumentError(
            f"{name!r} is not a secret variable this product may read: only names starting {SECRET_ENV_PREFIX}.",
            field=field or "secret_env",
            rule="secret_env",
        )
    value = os.environ.get(name) or ""
    if not value:
        message = f"the environment variable {name} (the webhook signing secret) is not set in this server's process"
        if field:
            raise InvalidArgumentError(
                f"{message}; set it where the server runs, then propose again.", field=field, rule="secret_env"
            )
        raise ConflictError(f"{message}; nothing was sent — set it and execute again (the action stays approved).")
    if len(value) < MIN_LENGTH:
        raise InvalidArgumentError(
            f"the value of {name} is shorter than {MIN_LENGTH} characters; use a long random secret.",
            field=field,
            rule="secret_env",
        )
    register_secret(value)
    return value


# -- finding placeholders ---------------------------------------------------------------------


def _path(parent: str, key: Any) -> str:
    return f"{parent}[{key}]" if isinstance(key, int) else (f"{parent}.{key}" if parent else str(key))


def found(value: Any, where: str = "") -> Iterator[tuple[str, str | None]]:
    """(dotted path, the name if a well-formed placeholder) of everything that looks like one:
    an object with a ``$secret_env`` key (with or without other keys), or a string containing it."""
    if isinstance(value, Mapping):
        if any(isinstance(k, str) and _MARKER in k.lower() for k in value):
            name = value.get(KEY) if set(value) == {KEY} else None
            yield where or "(value)", name if isinstance(name, str) else None
            return
        for key, item in value.items():
            yield from found(item, _path(where, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from found(item, _path(where, index))
    elif isinstance(value, str) and _MARKER in value.lower():
        yield where or "(value)", None


def refuse_in_input(params: Mapping[str, Any]) -> None:
    """Refuse a tool's free-form input that carries a placeholder (INVALID_ARGUMENT naming the field)."""
    for where, _ in found(params):
        raise InvalidArgumentError(
            f"{where} carries a secret placeholder ({KEY}); a tool's input cannot ask for a secret. Only the "
            "webhook tool's secret_env field names one (a KLAVIYO_WEBHOOK_SECRET* variable). Remove it.",
            field=where,
            rule="no_secret_placeholder",
        )


def _at(body: Any, field: str) -> Any:
    for part in field.split("."):
        if not isinstance(body, Mapping) or part not in body:
            return None
        body = body[part]
    return body


def declarations(step: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, env name) the step declares, as stored (unchecked)."""
    raw = step.get(DECLARED)
    if not isinstance(raw, list):
        return []
    return [(str(d.get("field")), str(d.get("env"))) for d in raw if isinstance(d, Mapping)]


def problems(plan: Sequence[Mapping[str, Any]]) -> list[str]:
    """Why each placeholder or declaration of ``plan`` is not honoured; empty when the plan is sound."""
    out: list[str] = []
    for index, step in enumerate(plan):
        sid = str(step.get("step_id", index))
        raw = step.get(DECLARED)
        declared = declarations(step)
        if raw is not None and (not isinstance(raw, list) or len(declared) != len(raw)):
            out.append(f"step {sid}: its secret declarations are malformed")
        for field, name in declared:
            key = (str(step.get("method")), str(step.get("path")), field)
            if key not in ALLOWED:
                out.append(f"step {sid}: a secret may not be declared for {key[0]} {key[1]} {field}")
            elif not NAME.fullmatch(name):
                out.append(f"step {sid}: {name!r} is not a {SECRET_ENV_PREFIX}* variable")
            elif _at(step.get("body"), field) != ref(name):
                out.append(f"step {sid}: body.{field} does not hold the declared placeholder")
        allowed = {f"body.{field}": name for field, name in declared}
        rest = {k: v for k, v in step.items() if k != DECLARED}
        for where, named in found(rest):
            if where not in allowed or named != allowed[where]:
                out.append(f"step {sid}: {where} holds a secret placeholder no tool declared")
    return out


def check_plan(plan: Sequence[Mapping[str, Any]], action_id: str | None = None) -> None:
    """The one rule (module docstring); refuses before anything is stored, approved or sent."""
    found_problems = problems(plan)
    if not found_problems:
        return
    why = "; ".join(found_problems[:5])
    if action_id is None:
        raise InvalidArgumentError(
            f"the plan would carry a secret where none is allowed ({why}).", field="plan", rule="no_secret_placeholder"
        )
    raise ConflictError(
        f"Proposal {action_id} will not run: its plan carries a secret placeholder that no tool declared ({why}). "
        "Nothing was sent. Propose the change again.",
        action_id=action_id,
        status="undeclared_secret",
    )


def describe(plan: Sequence[Mapping[str, Any]]) -> list[str]:
    """In words, for the approver: every secret the plan will insert, and where."""
    out = []
    for step in plan:
        for field, name in declarations(step):
            out.append(
                f"SECRET: when it runs, step {step.get('step_id')} ({step.get('method')} {step.get('path')}) "
                f"inserts the value of the server's environment variable {name} as {field}; the value is "
                "never stored, shown or logged."
            )
    if problems(plan):
        out.append("REFUSED AT EXECUTE: this plan carries a secret placeholder no tool declared; it will not run.")
    return out


def fill(step: Mapping[str, Any], body: Any) -> Any:
    """``body`` with each declared field's value read from the environment; nothing else is filled."""
    declared = declarations(step)
    if not declared:
        return body
    body = copy.deepcopy(body)
    for field, name in declared:
        *parents, last = field.split(".")
        target = body
        for part in parents:
            target = target[part]
        target[last] = value_of(name)
    return body


def required(plan: Sequence[Mapping[str, Any]]) -> list[str]:
    return [name for step in plan for _, name in declarations(step)]

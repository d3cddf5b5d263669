"""Which object an unconfirmed create made — only when it can be proven; a person decides otherwise.

Klaviyo has no idempotency keys, so a create whose answer was lost (a 5xx, a timeout, a dropped
connection) may or may not have landed. The executor lists the same-named objects immediately
before every create (the *snapshot*, journaled with the "started" entry) and, after a lost
answer, lists them again:

    new = now − snapshot − existing (same-named objects seen when proposing)
    none new                                   → it did not land: send it again (retryable)
    exactly one new, attributes match the plan → that one is ours: adopt it
    anything else (two new, or one that differs from the planned body, or no snapshot) → stop
        in needs_attention: a person looks in Klaviyo and resolves the step

An object that somebody else made before the snapshot (same name, another proposal's campaign, a
person's list) is in the snapshot, so it is never taken for ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from klaviyo_analytics.actions import plans
from klaviyo_analytics.errors import ConflictError


class NeedsAttention(ConflictError):
    """The step's outcome cannot be proven; a person must resolve it."""


def same_named(items: Sequence[Any], name: str) -> list[dict[str, Any]]:
    return [i for i in items if isinstance(i, dict) and plans.dig(i, "attributes.name") == name]


def matches(planned: Any, actual: Any) -> bool:
    """``planned`` (a body value) equals ``actual``; for objects, every planned key the answer
    carries (Klaviyo adds defaults such as ``audiences.excluded: []``)."""
    if isinstance(planned, Mapping) and isinstance(actual, Mapping):
        return all(matches(v, actual[k]) for k, v in planned.items() if k in actual)
    return bool(planned == actual)


def attributes_match(check: Mapping[str, Any], body: Any, resource: Any) -> bool:
    """The resource carries the planned values of the attributes the check names (name always)."""
    planned = plans.dig(body, "data.attributes") or {}
    actual = plans.dig(resource, "attributes") or {}
    for key in ("name", *check.get("match", ())):
        # The check carries the name: a clone's body names it ``new_name``, not ``name``.
        want = check.get("name") if key == "name" else plans.dig(planned, key)
        got = plans.dig(actual, key)
        if got is None and key != "name":
            continue  # the answer does not carry it (e.g. a sparse fieldset): nothing to compare
        if want is None or not matches(want, got):
            return False
    return True


def judge(
    check: Mapping[str, Any], body: Any, current: Sequence[dict[str, Any]], snapshot: set[str] | None
) -> dict[str, Any] | None:
    """The object an unconfirmed attempt made, None if it made none; NeedsAttention if unsure."""
    existing = set(check.get("existing", ()))
    new = [i for i in current if str(i.get("id")) not in existing | (snapshot or set())]
    if not new:
        return None
    if snapshot is not None and len(new) == 1 and attributes_match(check, body, new[0]):
        return new[0]
    why = (
        "no list of same-named objects was taken before it was sent"
        if snapshot is None
        else f"{len(new)} new objects named {check['name']!r} appeared since it was sent"
        if len(new) > 1
        else f"the new object named {check['name']!r} differs from the planned one"
    )
    raise NeedsAttention(
        f"Cannot prove which object this step created: {why}. The action stops here for a person to "
        "check in Klaviyo and resolve it.",
        candidates=[str(i.get("id")) for i in new],
    )

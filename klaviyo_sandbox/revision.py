"""Which Klaviyo revisions the sandbox answers as themselves, and what differs between them.

A request names its revision in the ``revision`` header. The sandbox emulates 2026-07-15 (the
spec in spec_extract.json) and 2026-10-15 (omni.py, from klaviyo-api 25.0.0's models); a request
for any other revision, published or not, is refused with a 400 on ``revision`` in Klaviyo's
error shape. It never answers one revision's request with another revision's shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from klaviyo_analytics.klaviyo import revisions
from klaviyo_sandbox import omni, spec
from klaviyo_sandbox.jsonapi import ApiError
from klaviyo_sandbox.omni_resources import OMNI_SERIALIZERS
from klaviyo_sandbox.resources import SERIALIZERS

BASE = spec.revision()
EMULATED: tuple[str, ...] = (BASE, omni.REVISION)


def check(value: str | None) -> str:
    """The emulated revision ``value`` names; a 400 on ``revision`` otherwise."""
    if not value:
        raise ApiError(
            400, "invalid", f"The 'revision' header is required (e.g. revision: {BASE}).", parameter="revision"
        )
    try:
        found = revisions.lookup(value)
    except revisions.RevisionError as exc:
        raise ApiError(400, "invalid", str(exc), parameter="revision") from None
    if found.name not in EMULATED:
        raise ApiError(
            400,
            "invalid",
            f"Revision {found.name} is not emulated by this sandbox: it answers revisions "
            f"{' and '.join(EMULATED)} only (send one of those in the 'revision' header).",
            parameter="revision",
        )
    return found.name


def operations(name: str) -> dict[str, spec.Operation]:
    return omni.operations() if name == omni.REVISION else spec.operations()


def routing_revision(header: str | None) -> str:
    """The table a path is routed in: the header's revision when emulated (the check comes later)."""
    value = (header or "").strip()
    return value if value in EMULATED else BASE


def match(method: str, path: str, header: str | None) -> tuple[spec.Operation, dict[str, str]]:
    return spec.match(method, path, operations(routing_revision(header)))


def handlers(name: str) -> Mapping[str, Callable[..., Any]]:
    return omni.HANDLERS if name == omni.REVISION else {}


def serializers(name: str) -> Mapping[str, Any]:
    return {**SERIALIZERS, **OMNI_SERIALIZERS} if name == omni.REVISION else SERIALIZERS

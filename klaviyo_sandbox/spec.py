"""The per-operation facts the sandbox enforces, read from ``spec_extract.json``.

The extract is generated from Klaviyo's OpenAPI spec by ``scripts/extract_spec.py``; this module
never reads the spec itself. It turns each entry into an :class:`Operation` and matches request
paths to them (404 for an unknown path, 405 for a known path with another method).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from klaviyo_sandbox.jsonapi import ApiError
from klaviyo_sandbox.ratelimit import Limit

EXTRACT_PATH = Path(__file__).with_name("spec_extract.json")


@dataclass(frozen=True)
class PageSize:
    default: int
    min: int
    max: int


@dataclass(frozen=True)
class RateVariant:
    """A parameter choice that moves the operation onto other limits (e.g. profile_count)."""

    param: str
    value: str
    limits: dict[str, Limit]

    def matches(self, query: dict[str, str]) -> bool:
        values = query.get(self.param, "").split(",")
        # The spec writes ``include=list`` for GET /api/profiles/{id} whose enum value is ``lists``.
        return self.value in values or f"{self.value}s" in values


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    scopes: tuple[str, ...]
    limits: dict[str, Limit]
    variants: tuple[RateVariant, ...]
    filters: dict[str, Any] | None
    filter_required: bool
    query: dict[str, list[str] | None]
    cursor: bool
    page_size: PageSize | None
    fixed_page: int | None
    success_status: int
    body: dict[str, Any] | None
    pattern: re.Pattern[str]

    def rate_bucket(self, query: dict[str, str]) -> tuple[str, dict[str, Limit]]:
        for variant in self.variants:
            if variant.matches(query):
                return f"{self.operation_id}:{variant.param}={variant.value}", variant.limits
        return self.operation_id, self.limits


def _limits(raw: dict[str, dict[str, int]]) -> dict[str, Limit]:
    return {name: Limit(limit=v["limit"], window=float(v["window"])) for name, v in raw.items()}


def path_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "/?$")


def _operation(raw: dict[str, Any]) -> Operation:
    page = raw["page"]
    size = page.get("size")
    return Operation(
        operation_id=raw["operation_id"],
        method=raw["method"],
        path=raw["path"],
        scopes=tuple(raw["scopes"]),
        limits=_limits(raw["rate_limit"]),
        variants=tuple(
            RateVariant(param=v["param"], value=v["value"], limits=_limits(v["rate_limit"]))
            for v in raw["rate_limit_variants"]
        ),
        filters=raw["filters"],
        filter_required=raw["filter_required"],
        query=raw["query"],
        cursor=page["cursor"],
        page_size=PageSize(**size) if size else None,
        fixed_page=page.get("fixed"),
        success_status=raw["success_status"],
        body=raw["body"],
        pattern=path_pattern(raw["path"]),
    )


@cache
def load_extract() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXTRACT_PATH.read_text(encoding="utf-8"))
    return data


@cache
def operations() -> dict[str, Operation]:
    return {raw["operation_id"]: _operation(raw) for raw in load_extract()["operations"]}


def revision() -> str:
    value: str = load_extract()["revision"]
    return value


def match(method: str, path: str, table: dict[str, Operation] | None = None) -> tuple[Operation, dict[str, str]]:
    """The operation of ``table`` (default: this spec's) serving ``method path`` and its path
    parameters; 404/405 otherwise."""
    allowed: list[str] = []
    for op in (table if table is not None else operations()).values():
        found = op.pattern.match(path)
        if found is None:
            continue
        if op.method == method:
            return op, found.groupdict()
        allowed.append(op.method)
    if allowed:
        raise ApiError(
            405,
            "method_not_allowed",
            f'Method "{method}" not allowed.',
            headers={"Allow": ", ".join(sorted(set(allowed)))},
        )
    raise ApiError(404, "not_found", f"The path {path} does not exist in this API (or is not emulated).")

"""Request checks driven by the spec extract: query parameters and the request body's frame.

Query: an unknown parameter, a value outside a ``fields[...]``/``additional-fields[...]``/
``include``/``sort`` enum, a ``page[size]`` outside the spec's bounds, a bad cursor or an
unsupported filter is a 400 naming the parameter. Body: ``data`` present with the right
``type`` (and ``id`` where the schema needs one), required attributes present, enumerated
attributes of the spec's JSON type and within their enums — a 400 whose ``source.pointer``
names the member.
"""

from __future__ import annotations

import email.policy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.parser import BytesParser
from typing import Any

from klaviyo_sandbox import filters
from klaviyo_sandbox.jsonapi import decode_cursor, invalid
from klaviyo_sandbox.spec import Operation

_LIST_PARAMS = ("fields[", "additional-fields[", "include")
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


@dataclass
class Query:
    fields: dict[str, list[str]] = field(default_factory=dict)
    additional: dict[str, frozenset[str]] = field(default_factory=dict)
    include: list[str] = field(default_factory=list)
    sort: str | None = None
    filter: list[filters.Condition] = field(default_factory=list)
    page_size: int | None = None
    offset: int = 0
    flat: dict[str, str] = field(default_factory=dict)

    def extras(self, kind: str) -> frozenset[str]:
        return self.additional.get(kind, frozenset())


def _page_size(op: Operation, raw: str | None) -> int | None:
    if op.page_size is None:
        return op.fixed_page
    if raw is None:
        return op.page_size.default
    if not raw.lstrip("-").isdigit():
        raise invalid("page[size] must be an integer.", parameter="page[size]")
    size = int(raw)
    if not op.page_size.min <= size <= op.page_size.max:
        raise invalid(f"page[size] must be between {op.page_size.min} and {op.page_size.max}.", parameter="page[size]")
    return size


def parse_query(op: Operation, pairs: Sequence[tuple[str, str]]) -> Query:
    flat = dict(pairs)
    allowed = set(op.query)
    if op.cursor:
        allowed.add("page[cursor]")
    if op.page_size is not None:
        allowed.add("page[size]")
    query = Query(flat=flat)
    for name, value in flat.items():
        if name not in allowed:
            raise invalid(f"'{name}' is not a valid query parameter for this endpoint.", parameter=name)
        enum = op.query.get(name)
        if name.startswith(_LIST_PARAMS):
            values = [v for v in value.split(",") if v]
            bad = [v for v in values if enum is not None and v not in enum]
            if bad:
                raise invalid(f"'{bad[0]}' is not a valid value for {name}.", parameter=name)
            if name == "include":
                query.include = values
            elif name.startswith("fields["):
                query.fields[name[7:-1]] = values
            else:
                query.additional[name[18:-1]] = frozenset(values)
        elif name == "sort":
            if enum is not None and value not in enum:
                raise invalid(f"'{value}' is not a valid sort value for this endpoint.", parameter="sort")
            query.sort = value
    raw_filter = flat.get("filter")
    if raw_filter is not None and raw_filter.strip():
        query.filter = filters.check(filters.parse(raw_filter), op.filters or {})
    if op.filter_required:
        _require_channel(op, query)
    query.page_size = _page_size(op, flat.get("page[size]"))
    if "page[cursor]" in flat:
        query.offset = decode_cursor(flat["page[cursor]"])
    return query


def _require_channel(op: Operation, query: Query) -> None:
    """GET /api/campaigns: Klaviyo refuses to list campaigns without a channel filter."""
    if not any(c.field == "messages.channel" for c in query.filter):
        raise invalid(
            "A channel filter is required to list campaigns, e.g. equals(messages.channel,'email').",
            parameter="filter",
        )


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid("The request body is not valid JSON.", pointer="/") from exc


def _lookup(attrs: dict[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = attrs
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def check_body(op: Operation, body: Any) -> Any:
    """The body's ``data`` after the frame checks; attributes are left to the handler."""
    spec = op.body
    if spec is None or spec.get("multipart"):
        return body
    if not isinstance(body, dict) or "data" not in body:
        raise invalid("The request body must be a JSON:API document with a 'data' member.", pointer="/data")
    data = body["data"]
    if spec["array"]:
        if not isinstance(data, list):
            raise invalid("'data' must be a list of resource identifiers.", pointer="/data")
        for i, item in enumerate(data):
            if not isinstance(item, dict) or item.get("type") != spec["type"] or not isinstance(item.get("id"), str):
                raise invalid(f"Each item must be {{'type': '{spec['type']}', 'id': ...}}.", pointer=f"/data/{i}")
        return data
    if not isinstance(data, dict):
        raise invalid("'data' must be an object.", pointer="/data")
    if data.get("type") != spec["type"]:
        raise invalid(f"'type' must be '{spec['type']}'.", pointer="/data/type")
    if spec["id_required"] and not isinstance(data.get("id"), str):
        raise invalid("'id' is required.", pointer="/data/id")
    attrs = data.get("attributes", {})
    if not isinstance(attrs, dict):
        raise invalid("'attributes' must be an object.", pointer="/data/attributes")
    for name in spec["required"]:
        if attrs.get(name) is None:
            raise invalid(f"'{name}' is required.", pointer=f"/data/attributes/{name}")
    for name, kind in spec.get("types", {}).items():
        value = attrs.get(name)
        if value is not None and not _JSON_TYPES[kind](value):
            raise invalid(f"'{name}' must be of type {kind}.", pointer=f"/data/attributes/{name}")
    for path, enum in spec["enums"].items():
        found, value = _lookup(attrs, path)
        if not found or value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            if item not in enum:
                pointer = "/data/attributes/" + path.replace(".", "/")
                raise invalid(f"'{item}' is not a valid value for {path}.", pointer=pointer)
    return data


MAX_UPLOAD = 5 * 1024 * 1024  # Klaviyo's limit for an image file


def parse_form(op: Operation, content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """A multipart/form-data body: field name -> (filename, bytes); the operation's required fields present."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise invalid("The request body must be multipart/form-data with a boundary.", pointer="/")
    if len(raw) > MAX_UPLOAD + 64 * 1024:
        raise invalid("The file is larger than 5 MB.", pointer="/file")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + raw
    )
    out: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            out[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    for name in (op.body or {}).get("required", []):
        if name not in out:
            raise invalid(f"'{name}' is required.", pointer=f"/{name}")
    return out

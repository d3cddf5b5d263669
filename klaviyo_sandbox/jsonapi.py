"""JSON:API plumbing: error documents, opaque cursors, pages and sparse fieldsets.

Errors are raised as :class:`ApiError` anywhere in the sandbox and rendered once, by the app,
into Klaviyo's error document: ``{"errors": [{"id", "status", "code", "title", "detail",
"source": {"pointer" | "parameter"}, "links": {}, "meta": {}}]}`` — a superset of the spec's.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

MEDIA_TYPE = "application/vnd.api+json"

_TITLES = {
    400: "Invalid input.",
    401: "Authentication credentials were not provided.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict.",
    415: "Unsupported media type.",
    429: "Request was throttled.",
    500: "A server error occurred.",
    502: "Bad gateway.",
    503: "Service unavailable.",
}


class ApiError(Exception):
    """An error answer; ``pointer`` names a body member, ``parameter`` a query parameter or header."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.pointer = pointer
        self.parameter = parameter
        self.meta = meta or {}
        self.headers = headers or {}
        self.title = title or _TITLES.get(status, "Error.")

    def document(self) -> dict[str, Any]:
        source: dict[str, str] = {}
        if self.pointer is not None:
            source["pointer"] = self.pointer
        if self.parameter is not None:
            source["parameter"] = self.parameter
        error = {
            "id": str(uuid.uuid4()),
            "status": self.status,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "source": source,
            "links": {},
            "meta": self.meta,
        }
        return {"errors": [error]}


def invalid(detail: str, *, pointer: str | None = None, parameter: str | None = None) -> ApiError:
    return ApiError(400, "invalid", detail, pointer=pointer, parameter=parameter)


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"A {kind} with id {ident} does not exist.")


# -- cursors and pages -------------------------------------------------------------------------


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"next::{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    # Klaviyo's SDK takes the cursor out of a links.next URL by splitting on ``page%5Bcursor%5D``
    # (no ``=``), so it sends the value with a leading ``=``; Klaviyo accepts that, and so do we.
    cursor = cursor.lstrip("=")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, offset = raw.partition("::")
        if prefix != "next" or not offset.isdigit():
            raise ValueError(raw)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid("Invalid page cursor.", parameter="page[cursor]") from exc


def page_links(
    base_url: str, path: str, query: Sequence[tuple[str, str]], offset: int, size: int, total: int
) -> dict[str, str]:
    """``self`` plus ``prev``/``next`` as full absolute URLs carrying an opaque ``page[cursor]``."""
    kept = [(k, v) for k, v in query if k != "page[cursor]"]
    links = {"self": url_for(base_url, path, query)}
    if offset + size < total:
        links["next"] = url_for(base_url, path, [*kept, ("page[cursor]", encode_cursor(offset + size))])
    if offset > 0:
        prev = max(0, offset - size)
        links["prev"] = url_for(base_url, path, [*kept, ("page[cursor]", encode_cursor(prev))] if prev else kept)
    return links


def url_for(base_url: str, path: str, query: Sequence[tuple[str, str]]) -> str:
    return f"{base_url}{path}" + (f"?{urlencode(query)}" if query else "")


# -- sparse fieldsets ---------------------------------------------------------------------------


def sparse(attributes: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    """Keep only the requested attributes; a dotted name keeps that member of a nested object."""
    if not fields:
        return attributes
    out: dict[str, Any] = {}
    for name in fields:
        head, _, rest = name.partition(".")
        if head not in attributes:
            continue
        value = attributes[head]
        if not rest or not isinstance(value, dict):
            out[head] = value
            continue
        if head in out and not isinstance(out[head], dict):
            continue
        picked = sparse(value, [rest])
        existing = out.get(head)
        out[head] = {**existing, **picked} if isinstance(existing, dict) else picked
    return out


def resource(
    kind: str,
    ident: str,
    attributes: dict[str, Any],
    base_url: str,
    self_path: str,
    relationships: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "id": ident, "attributes": attributes}
    if relationships is not None:
        out["relationships"] = relationships
    out["links"] = {"self": f"{base_url}{self_path}"}
    return out


def relationship(
    kind: str, ids: Sequence[str] | str | None, base_url: str, owner_path: str, name: str
) -> dict[str, Any]:
    """A relationship object; a str (or None) is to-one, a sequence to-many."""
    links = {
        "self": f"{base_url}{owner_path}/relationships/{name}",
        "related": f"{base_url}{owner_path}/{name}",
    }
    if ids is None:
        return {"links": links}
    if isinstance(ids, str):
        return {"data": {"type": kind, "id": ids}, "links": links}
    return {"data": [{"type": kind, "id": i} for i in ids], "links": links}

"""The sandbox's own request/response pair, independent of httpx and WSGI."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from klaviyo_sandbox.jsonapi import MEDIA_TYPE


@dataclass
class SandboxRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # scheme://host[:port], for absolute links
    trusted: bool  # in-process, or from a loopback address (may use /__sandbox/*)


@dataclass
class SandboxResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    drop: str | None = None  # the connection must die unanswered: "protocol" or "read"


def json_response(status: int, doc: Any, content_type: str = MEDIA_TYPE) -> SandboxResponse:
    return SandboxResponse(status, [("Content-Type", content_type)], json.dumps(doc).encode())

"""JSON-RPC text checks shared by the MCP transports (stdlib only: the stdio server imports it at start).

A JSON object with a key twice (``{"name": "a", "name": "b"}``) is valid JSON to most parsers, which
keep the last value; what a reviewer or a log saw and what ran could then differ. Both MCP transports
refuse such a message before the SDK parses it, as REST does.
"""

from __future__ import annotations

import json

INVALID_REQUEST = -32600


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def duplicate_key(body: bytes | str) -> str | None:
    """The first key that appears twice in one object of a JSON text; None if none (or not JSON)."""
    try:
        json.loads(body, object_pairs_hook=_unique_pairs)
    except _Duplicate as found:
        return found.key
    except (ValueError, RecursionError):  # not JSON (or absurdly deep): the SDK answers its own error
        return None
    return None


def duplicate_key_message(key: str) -> str:
    return f"Invalid request: the key {key[:64]!r} appears twice in one object; give it once"


def duplicate_key_error(key: str, answer_to: str | int | None = None) -> dict[str, object]:
    """The JSON-RPC error for it, answering request ``answer_to`` when its id could be read."""
    error = {"code": INVALID_REQUEST, "message": duplicate_key_message(key)}
    return {"jsonrpc": "2.0", "id": answer_to, "error": error}


def request_id(body: bytes | str) -> str | int | None:
    """The ``id`` of a JSON-RPC request text (the last one given), or None."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    found = message.get("id") if isinstance(message, dict) else None
    return found if isinstance(found, str | int) and not isinstance(found, bool) else None

"""Small helpers shared by the sandbox tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import httpx

MEDIA = "application/vnd.api+json"


def post(client: httpx.Client, path: str, data: Any, **kwargs: Any) -> httpx.Response:
    """POST a JSON:API body with Klaviyo's media type."""
    return client.post(path, content=json.dumps({"data": data}), headers={"Content-Type": MEDIA}, **kwargs)


def patch(client: httpx.Client, path: str, data: Any) -> httpx.Response:
    return client.patch(path, content=json.dumps({"data": data}), headers={"Content-Type": MEDIA})


def error_of(response: httpx.Response) -> dict[str, Any]:
    errors: list[dict[str, Any]] = response.json()["errors"]
    assert len(errors) == 1
    return errors[0]

"""Klaviyo's OpenAPI spec: the subset shipped in tests/klaviyo_openapi/ (or KLAVIYO_OPENAPI_SPEC)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from tests.klaviyo_sandbox.conftest import SPEC_PATH


@cache
def load_spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(
            f"Klaviyo's OpenAPI spec is not at {SPEC_PATH}; set KLAVIYO_OPENAPI_SPEC or restore tests/klaviyo_openapi/"
        )
    document: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return document

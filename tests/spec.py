"""Klaviyo's OpenAPI spec, read from ../shared when it is there (CI has it; a bare clone may not)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from klaviyo_analytics.paths import REPO_ROOT

SPEC_PATH = REPO_ROOT.parent / "shared" / "klaviyo-openapi" / "stable-2026-07-15.json"


@cache
def load_spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(f"Klaviyo's OpenAPI spec is not at {SPEC_PATH}; spec checks need ../shared beside the checkout")
    document: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return document

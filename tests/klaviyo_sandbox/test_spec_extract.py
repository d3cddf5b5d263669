"""spec_extract.json is generated from Klaviyo's spec and must stay in step with it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from klaviyo_sandbox.ratelimit import Limit
from klaviyo_sandbox.spec import EXTRACT_PATH, match, operations

from .conftest import REPO, SPEC_PATH, SpecChecker


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_spec", REPO / "scripts" / "extract_spec.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["extract_spec"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.fidelity
def test_extract_is_in_step_with_the_spec(spec_doc: dict[str, Any] | None, require_spec: SpecChecker) -> None:
    assert spec_doc is not None
    regenerated = _script().render(_script().build_extract(spec_doc))
    assert regenerated == EXTRACT_PATH.read_text(encoding="utf-8"), "run: python scripts/extract_spec.py"


@pytest.mark.fidelity
def test_check_mode_reports_staleness(tmp_path: Path, require_spec: SpecChecker) -> None:
    script = _script()
    assert script.main(["--spec", str(SPEC_PATH), "--check"]) == 0
    stale = tmp_path / "extract.json"
    stale.write_text("{}", encoding="utf-8")
    assert script.main(["--spec", str(SPEC_PATH), "--out", str(stale), "--check"]) == 1
    assert script.main(["--spec", str(SPEC_PATH), "--out", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == EXTRACT_PATH.read_text(encoding="utf-8")
    assert script.main(["--spec", str(tmp_path / "missing.json")]) == 2


@pytest.mark.fidelity
def test_extract_matches_spec_facts(spec_doc: dict[str, Any] | None, require_spec: SpecChecker) -> None:
    assert spec_doc is not None
    for op in operations().values():
        raw = spec_doc["paths"][op.path][op.method.lower()]
        assert raw["operationId"] == op.operation_id
        assert list(op.scopes) == raw["x-klaviyo-scopes"]
        units = {"s": 1.0, "m": 60.0, "d": 86400.0}
        limits = {k: Limit(int(v.split("/")[0]), units[v.split("/")[1]]) for k, v in raw["x-klaviyo-ratelimit"].items()}
        assert op.limits == limits
        size = next((p["schema"] for p in raw.get("parameters", []) if p.get("name") == "page[size]"), None)
        if size is None:
            assert op.page_size is None
        else:
            assert op.page_size is not None
            assert (op.page_size.default, op.page_size.min, op.page_size.max) == (
                size["default"],
                size["minimum"],
                size["maximum"],
            )
        assert op.filters == raw.get("x-klaviyo-filters")


def test_extract_covers_the_endpoints_the_product_needs() -> None:
    data = json.loads(EXTRACT_PATH.read_text(encoding="utf-8"))
    assert data["revision"] == "2026-07-15"
    served = {(op.method, op.path) for op in operations().values()}
    needed = {
        ("GET", "/api/accounts"), ("GET", "/api/metrics"), ("GET", "/api/metrics/{id}"),
        ("POST", "/api/metric-aggregates"), ("POST", "/api/campaign-values-reports"),
        ("POST", "/api/flow-values-reports"), ("POST", "/api/flow-series-reports"),
        ("POST", "/api/segment-values-reports"), ("POST", "/api/segment-series-reports"),
        ("GET", "/api/campaigns"), ("GET", "/api/campaigns/{id}"), ("GET", "/api/campaigns/{id}/campaign-messages"),
        ("POST", "/api/campaigns"), ("PATCH", "/api/campaign-messages/{id}"),
        ("POST", "/api/campaign-message-assign-template"), ("GET", "/api/flows"), ("GET", "/api/flows/{id}"),
        ("GET", "/api/flows/{id}/flow-actions"), ("GET", "/api/flow-actions/{id}/flow-messages"),
        ("GET", "/api/flow-messages/{id}"), ("PATCH", "/api/flows/{id}"), ("GET", "/api/lists"),
        ("POST", "/api/lists"), ("GET", "/api/lists/{id}"), ("POST", "/api/lists/{id}/relationships/profiles"),
        ("DELETE", "/api/lists/{id}/relationships/profiles"), ("GET", "/api/profiles"), ("POST", "/api/profiles"),
        ("POST", "/api/profile-import"), ("GET", "/api/segments"), ("POST", "/api/segments"),
        ("GET", "/api/segments/{id}"), ("POST", "/api/templates"), ("GET", "/api/templates/{id}"),
        ("POST", "/api/campaign-send-jobs"),
    }  # fmt: skip
    assert needed <= served
    op, params = match("GET", "/api/flows/abc123/flow-actions")
    assert op.operation_id == "get_actions_for_flow" and params == {"id": "abc123"}
    campaigns = operations()["get_campaigns"]
    assert campaigns.filter_required
    assert campaigns.page_size is not None and campaigns.page_size.max == 100
    assert operations()["get_metrics"].fixed_page == 200


def _subset_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("extract_test_spec", REPO / "scripts" / "extract_test_spec.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SHIPPED_SUBSET = REPO / "tests" / "klaviyo_openapi" / "stable-2026-07-15.json"


def test_the_shipped_spec_subset_is_whole_and_in_step() -> None:
    """A fresh clone checks against the subset in tests/klaviyo_openapi/: it must hold every operation the
    sandbox serves or the product calls with every component they refer to (it extracts to itself), and,
    where the full spec is beside the checkout (CI), be exactly what the script extracts from it."""
    script = _subset_script()
    assert (SHIPPED_SUBSET.parent / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert script.main(["--spec", str(SHIPPED_SUBSET), "--out", str(SHIPPED_SUBSET), "--check"]) == 0
    if script.DEFAULT_SPEC.is_file():
        assert script.main(["--spec", str(script.DEFAULT_SPEC), "--out", str(SHIPPED_SUBSET), "--check"]) == 0

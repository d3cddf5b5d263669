"""Catalog entries, one module per area; ``all_tools`` fixes the order tools are listed in."""

from __future__ import annotations

import importlib

from klaviyo_analytics.tools.spec import ToolSpec

# An area names its module here, in schemas/ and in service/ (tests/core/test_layers.py holds them aligned).
AREAS = (
    "accounts", "campaigns", "flows", "flow_audit", "trends", "compare", "insights", "anomalies", "deliverability",
    "predictive", "portfolio", "digest", "lists", "segments", "metrics", "engagement", "forms", "actions",
)  # fmt: skip


def all_tools() -> tuple[ToolSpec, ...]:
    tools: list[ToolSpec] = []
    for area in AREAS:
        tools.extend(importlib.import_module(f"klaviyo_analytics.tools.entries.{area}").TOOLS)
    names = [t.name for t in tools]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise RuntimeError(f"tool declared twice: {sorted(duplicates)}")
    return tuple(tools)

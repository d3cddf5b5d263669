"""Regenerate ``tests/klaviyo_openapi/`` — the part of Klaviyo's OpenAPI spec the tests read.

A fresh clone has nothing beside it, so the spec checks (request and response bodies held to the
spec's schemas, the endpoint table's limits and scopes, the sandbox's extract, the flow schema) read
this subset: every operation the sandbox serves or the product calls, with every component those
operations refer to (closed over ``$ref``), and the spec's error responses. Klaviyo publishes the
spec under the MIT licence; its LICENSE is copied beside the subset.

    python scripts/extract_test_spec.py                 # write it from ../shared/klaviyo-openapi
    python scripts/extract_test_spec.py --check         # exit 1 if the committed subset is stale
    python scripts/extract_test_spec.py --spec SUBSET   # a subset extracts to itself (closure check)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC_NAME = "stable-2026-07-15.json"
DEFAULT_SPEC = ROOT.parent / "shared" / "klaviyo-openapi" / SPEC_NAME
OUT_DIR = ROOT / "tests" / "klaviyo_openapi"
DEFAULT_OUT = OUT_DIR / SPEC_NAME
# Schemas the tests name directly (not reached from an operation).
EXTRA_SCHEMAS = ("FlowDefinition",)


def _wanted_operations() -> set[str]:
    sys.path.insert(0, str(ROOT))
    from klaviyo_analytics.klaviyo.endpoints import ENDPOINTS

    sys.path.insert(0, str(ROOT / "scripts"))
    from extract_spec import SERVED

    return set(SERVED) | {endpoint.operation_id for endpoint in ENDPOINTS}


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def build_subset(spec: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path, item in spec["paths"].items():
        kept = {m: op for m, op in item.items() if isinstance(op, dict) and op.get("operationId") in wanted}
        if kept:
            paths[path] = {**{k: v for k, v in item.items() if not isinstance(v, dict)}, **kept}
    found = {op["operationId"] for item in paths.values() for op in item.values() if isinstance(op, dict)}
    if wanted - found:
        raise SystemExit(f"operations missing from the spec: {', '.join(sorted(wanted - found))}")
    source = spec["components"]
    # The checker reads the first error response; keep every shared response (they are few).
    components: dict[str, dict[str, Any]] = {
        "responses": dict(source.get("responses", {})),
        "securitySchemes": dict(source.get("securitySchemes", {})),
    }
    pending = [*_refs(paths), *_refs(components), *(f"#/components/schemas/{n}" for n in EXTRA_SCHEMAS)]
    while pending:
        ref = pending.pop()
        _, _, kind, name = ref.split("/", 3)
        if name in components.setdefault(kind, {}):
            continue
        node = source[kind][name]
        components[kind][name] = node
        pending.extend(_refs(node))
    ordered = {kind: {n: components[kind][n] for n in source[kind] if n in components.get(kind, {})} for kind in source}
    return {
        **{k: v for k, v in spec.items() if k not in {"paths", "components"}},
        "paths": paths,
        "components": {k: v for k, v in ordered.items() if v},
    }


def render(subset: dict[str, Any]) -> str:
    return json.dumps(subset, indent=None, separators=(",", ":"), ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if not args.spec.exists():
        print(f"spec not found: {args.spec}", file=sys.stderr)
        return 2
    text = render(build_subset(json.loads(args.spec.read_text(encoding="utf-8")), _wanted_operations()))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run python scripts/extract_test_spec.py", file=sys.stderr)
            return 1
        print(f"{args.out} is in step with {args.spec}")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    licence = args.spec.with_name("LICENSE")
    if licence.exists():
        shutil.copyfile(licence, args.out.with_name("LICENSE"))
    print(f"wrote {args.out} ({sum(len(i) for i in json.loads(text)['paths'].values())} operations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

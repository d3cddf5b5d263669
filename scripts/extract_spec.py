"""Regenerate ``klaviyo_sandbox/spec_extract.json`` from Klaviyo's OpenAPI spec.

The sandbox never reads ``../shared`` at run time: everything it needs per operation (route,
scopes, rate limits, filters, query enums, page sizes, request-body enums) is copied here into a
small JSON file that is committed next to the code. The fidelity tests regenerate it and compare,
so the extract cannot drift from the spec unnoticed.

    python scripts/extract_spec.py            # write the extract
    python scripts/extract_spec.py --check    # exit 1 if the committed extract is stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT.parent / "shared" / "klaviyo-openapi" / "stable-2026-07-15.json"
DEFAULT_OUT = ROOT / "klaviyo_sandbox" / "spec_extract.json"

# The operations the sandbox emulates (operationId); every other Klaviyo route answers 404/405.
SERVED: tuple[str, ...] = (
    "get_accounts",
    "get_metrics",
    "get_metric",
    "query_metric_aggregates",
    "query_campaign_values",
    "query_flow_values",
    "query_flow_series",
    "query_segment_values",
    "query_segment_series",
    "get_campaigns",
    "get_campaign",
    "create_campaign",
    "update_campaign",
    "get_messages_for_campaign",
    "get_campaign_message",
    "update_campaign_message",
    "assign_template_to_campaign_message",
    "send_campaign",
    "get_flows",
    "get_flow",
    "create_flow",
    "delete_flow",
    "update_flow",
    "get_actions_for_flow",
    "get_flow_action",
    "update_flow_action",
    "get_flow_action_messages",
    "get_flow_message",
    "get_lists",
    "create_list",
    "get_list",
    "get_flows_triggered_by_list",
    "add_profiles_to_list",
    "remove_profiles_from_list",
    "get_profiles",
    "get_profiles_for_list",
    "create_profile",
    "get_profile",
    "update_profile",
    "create_or_update_profile",
    "bulk_subscribe_profiles",
    "bulk_unsubscribe_profiles",
    "get_segments",
    "create_segment",
    "get_segment",
    "get_templates",
    "create_template",
    "get_template",
    "get_webhook_topics",
    "get_webhooks",
    "create_webhook",
    "get_webhook",
    "delete_webhook",
    "get_forms",
    "get_form",
    "get_versions_for_form",
    "get_form_version",
    "query_form_values",
    "query_form_series",
    "create_campaign_clone",
    "clone_template",
    # What Klaviyo's own MCP server reads and writes besides the above (klaviyo-mcp-server 0.4.2).
    "get_events",
    "get_event",
    "create_event",
    "get_tags",
    "get_tag",
    "get_tags_for_campaign",
    "get_tag_ids_for_campaign",
    "get_tags_for_flow",
    "get_tag_ids_for_flow",
    "get_tags_for_list",
    "get_tag_ids_for_list",
    "get_tags_for_segment",
    "get_tag_ids_for_segment",
    "get_campaign_ids_for_tag",
    "get_flow_ids_for_tag",
    "get_list_ids_for_tag",
    "get_segment_ids_for_tag",
    "get_catalog_items",
    "upload_image_from_url",
    "upload_image_from_file",
    "get_images",
    "get_image",
)

_WINDOWS = {"s": 1, "m": 60, "d": 86400}
_VARIANT = re.compile(
    r"Rate limits when using the `([^`=]+)=([^`]+)` parameter in your API request:"
    r"<br>Burst: `(\d+/[smd])`<br>Steady: `(\d+/[smd])`"
)
_PER_PAGE = re.compile(r"maximum of (\d+) results per page")


def _limit(text: str) -> dict[str, int]:
    count, unit = text.split("/")
    return {"limit": int(count), "window": _WINDOWS[unit]}


def _rate_limit(raw: dict[str, str]) -> dict[str, dict[str, int]]:
    return {name: _limit(value) for name, value in sorted(raw.items())}


class _Resolver:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def __call__(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node


def _collect_enums(node: Any, prefix: str, resolve: _Resolver, out: dict[str, list[Any]]) -> None:
    """Enums of an attribute and its direct members, keyed by dotted path; alternatives are merged."""
    node = resolve(node)
    if not isinstance(node, dict) or prefix.count(".") > 1:
        return
    if "enum" in node and prefix:
        known = out.setdefault(prefix, [])
        known.extend(value for value in node["enum"] if value not in known)
    if node.get("type") == "array" and "items" in node:
        _collect_enums(node["items"], prefix, resolve, out)
    for alt in node.get("oneOf", []) + node.get("anyOf", []):
        _collect_enums(alt, prefix, resolve, out)
    for name, sub in node.get("properties", {}).items():
        _collect_enums(sub, f"{prefix}.{name}" if prefix else name, resolve, out)


def _body(op: dict[str, Any], resolve: _Resolver) -> dict[str, Any] | None:
    body = op.get("requestBody")
    if not body:
        return None
    if "application/vnd.api+json" not in body["content"]:  # a file upload: form fields, not a document
        form = resolve(body["content"]["multipart/form-data"]["schema"])
        return {"multipart": True, "required": list(form.get("required", [])), "fields": sorted(form["properties"])}
    schema = resolve(body["content"]["application/vnd.api+json"]["schema"])
    data = resolve(schema["properties"]["data"])
    if data.get("type") == "array":
        item = resolve(data["items"])
        return {"array": True, "type": resolve(item["properties"]["type"])["enum"][0]}
    out: dict[str, Any] = {
        "array": False,
        "type": resolve(data["properties"]["type"])["enum"][0],
        "id_required": "id" in data.get("required", []),
        "required": [],
        "types": {},
        "enums": {},
    }
    attributes = resolve(data["properties"].get("attributes", {}))
    if attributes:
        out["required"] = list(attributes.get("required", []))
        enums: dict[str, list[Any]] = {}
        types: dict[str, str] = {}
        for name, sub in attributes.get("properties", {}).items():
            _collect_enums(sub, name, resolve, enums)
            kind = resolve(sub).get("type")
            if isinstance(kind, str):
                types[name] = kind
        out["types"] = dict(sorted(types.items()))
        out["enums"] = dict(sorted(enums.items()))
    return out


def _operation(method: str, path: str, op: dict[str, Any], resolve: _Resolver) -> dict[str, Any]:
    query: dict[str, list[str] | None] = {}
    page: dict[str, Any] = {"cursor": False, "size": None}
    filter_required = False
    for raw in op.get("parameters", []):
        param = resolve(raw)
        if param["in"] != "query":
            continue
        name = param["name"]
        schema = resolve(param.get("schema", {}))
        if name == "page[size]":
            page["size"] = {"default": schema["default"], "min": schema["minimum"], "max": schema["maximum"]}
            continue
        if name == "page[cursor]":
            page["cursor"] = True
            continue
        if name == "filter":
            filter_required = bool(param.get("required", False))
        items = resolve(schema.get("items", {})) if schema.get("type") == "array" else schema
        query[name] = list(items["enum"]) if "enum" in items else None
    description = op.get("description", "")
    per_page = _PER_PAGE.search(description)
    if page["cursor"] and page["size"] is None and per_page:
        page["fixed"] = int(per_page.group(1))
    variants = [
        {
            "param": m.group(1),
            "value": m.group(2),
            "rate_limit": _rate_limit({"burst": m.group(3), "steady": m.group(4)}),
        }
        for m in _VARIANT.finditer(description)
    ]
    success = next(code for code in op["responses"] if code.startswith("2"))
    return {
        "operation_id": op["operationId"],
        "method": method.upper(),
        "path": path,
        "scopes": list(op.get("x-klaviyo-scopes", [])),
        "rate_limit": _rate_limit(op["x-klaviyo-ratelimit"]),
        "rate_limit_variants": variants,
        "filters": op.get("x-klaviyo-filters"),
        "filter_required": filter_required,
        "query": dict(sorted(query.items())),
        "page": page,
        "success_status": int(success),
        "body": _body(op, resolve),
    }


def build_extract(spec: dict[str, Any]) -> dict[str, Any]:
    resolve = _Resolver(spec)
    found: dict[str, dict[str, Any]] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") in SERVED:
                found[op["operationId"]] = _operation(method, path, op, resolve)
    missing = sorted(set(SERVED) - set(found))
    if missing:
        raise SystemExit(f"operations missing from the spec: {', '.join(missing)}")
    return {
        "revision": spec["info"]["version"],
        "generated_by": "scripts/extract_spec.py",
        "operations": [found[op_id] for op_id in SERVED],
    }


def render(extract: dict[str, Any]) -> str:
    return json.dumps(extract, indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if not args.spec.exists():
        print(f"spec not found: {args.spec}", file=sys.stderr)
        return 2
    text = render(build_extract(json.loads(args.spec.read_text(encoding="utf-8"))))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run python scripts/extract_spec.py", file=sys.stderr)
            return 1
        print(f"{args.out} is in step with {args.spec.name}")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(SERVED)} operations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Drive a sandbox with every method of one Klaviyo SDK release (run in its own process).

    python tests/klaviyo_sandbox/sdk_driver.py PLAN.json      # prints one JSON report on stdout

The release is whichever ``klaviyo_api`` is first on PYTHONPATH (the venv's 24.0.0, or 25.0.0 from
.venv/sdk/klaviyo-api-25). The calls are generated from the SDK's own API classes: every public
method whose route (method, path, read from its ``_<name>_serialize``) the sandbox serves at the
SDK's revision is called through ``KlaviyoAPI`` (so its retry and cursor wrappers run) with the
plan's ids and a body built for its route; the answer must deserialize into the SDK's models.
Methods whose route the sandbox does not emulate are counted, never called. This file imports
nothing from the repository: it is a client that nobody here wrote, plus a table of bodies.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic._internal._config

# The SDK's API modules define ~1,500 pydantic models at import; building every validator then costs
# ~20 s per release. Deferred, only the models a call uses are built (the same validators, later).
pydantic._internal._config.config_defaults["defer_build"] = True

import openapi_client.api  # noqa: E402 - after the setting above
from klaviyo_api import KlaviyoAPI  # noqa: E402
from openapi_client.exceptions import ApiException  # noqa: E402
from pydantic import ValidationError  # noqa: E402

Route = tuple[str, str]
_SERIAL = itertools.count(1)  # each created profile needs its own email
ORDER = {"POST": 0, "GET": 1, "PATCH": 2, "DELETE": 3}  # create what later calls use; delete last
# Where an SDK release itself is at fault (the sandbox answers as the spec says): release -> method -> why.
SDK_BUGS: dict[str, dict[str, str]] = {}


_DEF = re.compile(r"^(\w+)\(\s*\n        self,\n(.*?)^\) ->", re.S | re.M)  # one chunk: a def's text
_ALIAS = re.compile(r"^    (\w+) = (\w+)$", re.M)
_PARAM = re.compile(r"^        (\w+): .*?(?P<default> = [^,]+)?,$", re.M)
_ROUTE = re.compile(r"^    def _(\w+)_serialize\(.*?method='(\w+)',\s*resource_path='([^']+)'", re.M | re.S)


def sdk_methods() -> list[tuple[str, str, Route, list[str]]]:
    """(group attribute on KlaviyoAPI, method name, route, required parameters) for every public
    API method, read from the API modules' text: importing them builds every model class (~30 s)."""
    out = []
    for source in sorted(Path(openapi_client.api.__path__[0]).glob("*_api.py")):
        text = source.read_text(encoding="utf-8")
        group = "".join(part.title() for part in source.stem.removesuffix("_api").split("_"))
        routes = {name: (method, path) for name, method, path in _ROUTE.findall(text)}
        for chunk in text.split("\n    def ")[1:]:
            found = _DEF.match(chunk)
            if found is None:
                continue
            name = found.group(1)
            if name.startswith("_") or name.endswith(("_with_http_info", "_without_preload_content")):
                continue
            required = [m.group(1) for m in _PARAM.finditer(found.group(2)) if m.group("default") is None]
            if name in routes:
                out.append((group, name, routes[name], [p for p in required if not p.startswith("_")]))
        # Aliases (``create_campaign_message_assign_template = assign_template_to_campaign_message``) are methods too.
        known = {entry[1]: entry for entry in out if entry[0] == group}
        for alias, target in _ALIAS.findall(text):
            if target in known and not alias.startswith("_"):
                out.append((group, alias, known[target][2], known[target][3]))
    return out


def _campaign_bodies(revision: str, ids: dict[str, str]) -> dict[Route, Callable[[], Any]]:
    if revision == "2026-10-15":
        details = {"channel": "email", "content": {"subject": "Hi", "from_email": "hi@acme.example"}}
        return {
            ("POST", "/api/campaigns"): lambda: {"data": {"type": "campaign", "attributes": {
                "definition": {"name": "SDK omni", "send_settings": {"send_strategy": "static"}},
                "audiences": [{"temporary_id": "a1", "included": [ids["list"]]}],
                "messages": [{"audience_temporary_id": "a1", "name": "Main",
                              "variations": [{"definition": {"name": "A", "details": details}}]}]}}},
            ("PATCH", "/api/campaigns/{id}"): lambda: {"data": {"type": "campaign", "id": ids["draft"],
                "attributes": {"definition": {"name": "SDK omni (renamed)", "color": "ff5733"}}}},
            ("PATCH", "/api/campaign-messages/{id}"): lambda: {"data": {"type": "campaign-message",
                "id": ids["draft_message"], "attributes": {"definition": {"name": "Renamed",
                "tracking_options": {"is_add_utm": True}}}}},
            ("PATCH", "/api/campaign-variations/{id}"): lambda: {"data": {"type": "campaign-variation",
                "id": ids["draft_variation"], "attributes": {"definition": {"name": "B",
                "details": {"content": {"subject": "Changed"}}}}}},
        }  # fmt: skip
    return {
        ("POST", "/api/campaigns"): lambda: {"data": {"type": "campaign", "attributes": {
            "name": "SDK draft", "audiences": {"included": [ids["list"]]},
            "campaign-messages": {"data": [{"type": "campaign-message", "attributes": {"definition": {
                "channel": "email", "label": "Main", "content": {"subject": "Hi", "from_email": "hi@acme.example"}}}}]}}}},
        ("PATCH", "/api/campaigns/{id}"): lambda: {"data": {"type": "campaign", "id": ids["draft"],
            "attributes": {"name": "SDK draft (renamed)"}}},
        ("PATCH", "/api/campaign-messages/{id}"): lambda: {"data": {"type": "campaign-message",
            "id": ids["draft_message"], "attributes": {"definition": {"channel": "email",
            "content": {"subject": "Changed"}}}}},
    }  # fmt: skip


def bodies(revision: str, ids: dict[str, str]) -> dict[Route, Callable[[], Any]]:
    tf = {"key": "last_30_days"}
    conv = ids["metric"]
    profile_sub = {"data": [{"type": "profile", "attributes": {"email": "sdk.sub@example.com", "subscriptions": {
        "email": {"marketing": {"consent": "SUBSCRIBED"}}}}}]}  # fmt: skip
    flow_definition = {"triggers": [{"type": "list", "id": ids["list"]}], "entry_action_id": "a1", "actions": [
        {"temporary_id": "a1", "type": "send-email", "links": {"next": None},
         "data": {"message": {"subject_line": "Hi", "template_id": ids["template"]}}}]}  # fmt: skip
    return {
        **_campaign_bodies(revision, ids),
        ("POST", "/api/metric-aggregates"): lambda: {"data": {"type": "metric-aggregate", "attributes": {
            "metric_id": conv, "measurements": ["count"], "interval": "month",
            "filter": ["greater-or-equal(datetime,2025-12-01T00:00:00)", "less-than(datetime,2026-03-01T00:00:00)"]}}},
        ("POST", "/api/campaign-values-reports"): lambda: {"data": {"type": "campaign-values-report", "attributes": {
            "statistics": ["recipients", "open_rate"], "timeframe": tf, "conversion_metric_id": conv}}},
        ("POST", "/api/flow-values-reports"): lambda: {"data": {"type": "flow-values-report", "attributes": {
            "statistics": ["recipients"], "timeframe": tf, "conversion_metric_id": conv}}},
        ("POST", "/api/flow-series-reports"): lambda: {"data": {"type": "flow-series-report", "attributes": {
            "statistics": ["opens"], "timeframe": tf, "interval": "weekly", "conversion_metric_id": conv}}},
        ("POST", "/api/segment-values-reports"): lambda: {"data": {"type": "segment-values-report", "attributes": {
            "statistics": ["total_members"], "timeframe": tf}}},
        ("POST", "/api/segment-series-reports"): lambda: {"data": {"type": "segment-series-report", "attributes": {
            "statistics": ["total_members"], "timeframe": tf, "interval": "weekly"}}},
        ("POST", "/api/campaign-message-assign-template"): lambda: {"data": {"type": "campaign-message",
            "id": ids["draft_message"], "relationships": {"template": {"data": {"type": "template",
                                                                                "id": ids["template"]}}}}},
        ("POST", "/api/campaign-send-jobs"): lambda: {"data": {"type": "campaign-send-job", "id": ids["draft"]}},
        ("POST", "/api/flows"): lambda: {"data": {"type": "flow", "attributes": {"name": "SDK flow",
                                                                                  "definition": flow_definition}}},
        ("PATCH", "/api/flows/{id}"): lambda: {"data": {"type": "flow", "id": ids["flow"],
                                                        "attributes": {"status": "manual"}}},
        ("PATCH", "/api/flow-actions/{id}"): lambda: {"data": {"type": "flow-action", "id": ids["send_action"],
                                                               "attributes": {"definition": ids["send_action_def"]}}},
        ("POST", "/api/lists"): lambda: {"data": {"type": "list", "attributes": {"name": "SDK list"}}},
        ("POST", "/api/lists/{id}/relationships/profiles"): lambda: {"data": [{"type": "profile",
                                                                               "id": ids["profile"]}]},
        ("DELETE", "/api/lists/{id}/relationships/profiles"): lambda: {"data": [{"type": "profile",
                                                                                 "id": ids["profile"]}]},
        ("POST", "/api/profiles"): lambda: {"data": {"type": "profile", "attributes": {
            "email": f"sdk.new{next(_SERIAL)}@example.com"}}},
        ("PATCH", "/api/profiles/{id}"): lambda: {"data": {"type": "profile", "id": ids["profile"],
                                                           "attributes": {"title": "Dr"}}},
        ("POST", "/api/profile-import"): lambda: {"data": {"type": "profile", "attributes": {
            "email": "sdk.import@example.com"}}},
        ("POST", "/api/profile-subscription-bulk-create-jobs"): lambda: {"data": {
            "type": "profile-subscription-bulk-create-job", "attributes": {"profiles": profile_sub},
            "relationships": {"list": {"data": {"type": "list", "id": ids["list"]}}}}},
        ("POST", "/api/profile-subscription-bulk-delete-jobs"): lambda: {"data": {
            "type": "profile-subscription-bulk-delete-job", "attributes": {"profiles": {"data": [{"type": "profile",
                "attributes": {"email": "sdk.sub@example.com", "subscriptions": {"email": {"marketing": {
                    "consent": "UNSUBSCRIBED"}}}}}]}},
            "relationships": {"list": {"data": {"type": "list", "id": ids["list"]}}}}},
        ("POST", "/api/segments"): lambda: {"data": {"type": "segment", "attributes": {"name": "SDK seg",
            "definition": {"condition_groups": [{"conditions": [{"type": "profile-group-membership",
                                                                "is_member": True, "group_ids": [ids["list"]]}]}]}}}},
        ("POST", "/api/templates"): lambda: {"data": {"type": "template", "attributes": {
            "name": "SDK template", "editor_type": "CODE", "html": "<p>hi</p>"}}},
        ("POST", "/api/webhooks"): lambda: {"data": {"type": "webhook", "attributes": {"name": "SDK hook",
            "endpoint_url": "https://hooks.example.com/sdk", "secret_key": "sdk-secret-0001"},
            "relationships": {"webhook-topics": {"data": [{"type": "webhook-topic",
                                                           "id": "event:klaviyo.sent_sms"}]}}}},
        ("POST", "/api/events"): lambda: {"data": {"type": "event", "attributes": {"properties": {"Item": "Hat"},
            "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": "sdk.event@example.com"}}}}}},
        ("POST", "/api/images"): lambda: {"data": {"type": "image", "attributes": {
            "import_from_url": "https://img.example/never-fetched.png"}}},
    }  # fmt: skip


# path prefix -> the plan id its {id} takes (a write's own target is named in its body)
_PATH_IDS = {
    "/api/campaigns/{id}": "campaign",
    "/api/campaign-messages/{id}": "message",
    "/api/campaign-variations/{id}": "variation",
    "/api/campaign-audiences/{id}": "audience",
    "/api/flows/{id}": "flow",
    "/api/flow-actions/{id}": "send_action",
    "/api/flow-messages/{id}": "flow_message",
    "/api/lists/{id}": "list",
    "/api/segments/{id}": "segment",
    "/api/profiles/{id}": "profile",
    "/api/templates/{id}": "template",
    "/api/metrics/{id}": "metric",
    "/api/tags/{id}": "tag",
    "/api/events/{id}": "event",
    "/api/images/{id}": "image",
    "/api/webhooks/{id}": "created_webhook",
}
_WRITE_TARGETS = {
    ("PATCH", "/api/campaigns/{id}"): "draft",
    ("PATCH", "/api/campaign-messages/{id}"): "draft_message",
    ("PATCH", "/api/campaign-variations/{id}"): "draft_variation",
    ("DELETE", "/api/flows/{id}"): "created_flow",
    ("DELETE", "/api/webhooks/{id}"): "created_webhook",
}
# What a create leaves for later calls: route -> plan id
_CREATED = {("POST", "/api/flows"): "created_flow", ("POST", "/api/webhooks"): "created_webhook",
            ("POST", "/api/images"): "image"}  # fmt: skip


def _path_id(route: Route, ids: dict[str, str]) -> str | None:
    if route in _WRITE_TARGETS:
        return ids[_WRITE_TARGETS[route]]
    for prefix, key in _PATH_IDS.items():
        if route[1].startswith(prefix):
            return ids[key]
    return None


def _call(
    sdk: KlaviyoAPI, group: str, name: str, route: Route, params: list[str], plan: dict[str, Any], made: Any
) -> Any:
    fn = getattr(getattr(sdk, group), name)  # the wrapped method: the SDK's retry and cursor handling run
    args: list[Any] = []
    for param in params:
        if param == "id":
            args.append(_path_id(route, plan["ids"]))
        elif param == "file":  # upload_image_from_file: a 1x1 PNG, as bytes
            args.append(bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"))
        elif param == "filter":
            args.append("equals(messages.channel,'email')")  # 24.0.0's get_campaigns requires it
        else:
            args.append(made[route]())
    return fn(*args)


def _outcome(group: str, name: str, call: Callable[[], Any], release: str, sparse: bool = False) -> dict[str, Any]:
    """Call and classify. With sparse fieldsets the SDK answers a dict (its models require every
    attribute), so ``sparse`` accepts a JSON:API document there."""
    out: dict[str, Any] = {"method": f"{group}.{name}"}
    started = time.perf_counter()
    try:
        answer = call()
    except ApiException as exc:
        out.update(result="failed", why=f"HTTP {exc.status}: {str(exc.body)[:300]}")
    except ValidationError as exc:
        out.update(result="failed", why=f"deserialize: {str(exc)[:300]}")
    except Exception as exc:
        out.update(result="failed", why=f"{type(exc).__name__}: {str(exc)[:300]}")
    else:
        models = answer is None or type(answer).__module__.startswith("openapi_client.models")
        models = models or (sparse and isinstance(answer, dict) and "data" in answer)
        out.update(result="ok" if models else "failed", why=None if models else f"not a model: {type(answer)}")
        out["answer"] = answer
    out["ms"] = round((time.perf_counter() - started) * 1000)
    if out["result"] == "failed" and out["method"] in SDK_BUGS.get(release, {}):
        out["result"] = "sdk_bug"
        out["why"] = SDK_BUGS[release][out["method"]]
    return out


def _follow_next(sdk: KlaviyoAPI, release: str) -> list[dict[str, Any]]:
    """The SDK's own cursor handling: a full ``links.next`` URL passed back as page_cursor."""
    out = []
    for group, name, kwargs in (("Profiles", "get_profiles", {"page_size": 5}), ("Events", "get_events", {
            "page_size": 5}), ("Tags", "get_tags", {"page_size": 2}), ("Catalogs", "get_catalog_items", {
            "page_size": 3})):  # fmt: skip
        fn = getattr(getattr(sdk, group), name)
        first = fn(**kwargs)
        link = first.links.next if first.links else None

        def page(fn: Any = fn, link: Any = link, kwargs: Any = kwargs, first: Any = first) -> Any:
            if not link or not link.startswith("https://"):
                raise AssertionError(f"links.next is not an https link: {link!r}")
            second = fn(page_cursor=link, **kwargs)
            if [x.id for x in second.data] == [x.id for x in first.data]:
                raise AssertionError("the next page repeats the first")
            return second

        out.append(_outcome(group, f"{name} (links.next as page_cursor)", page, release))
    return out


def mcp_server_reads(ids: dict[str, str]) -> list[tuple[str, str, str, list[Any], dict[str, Any]]]:
    """The SDK calls the read tools of Klaviyo's MCP server (klaviyo-mcp-server 0.4.2, tools/*.py) make,
    with the arguments they pass: (tool, group, method, args, kwargs). It pins klaviyo-api < 25."""
    tf = {"key": "last_365_days"}
    return [
        ("get_account_details", "Accounts", "get_accounts", [], {}),
        ("get_campaigns", "Campaigns", "get_campaigns", [], {"fields_campaign": ["name", "status", "send_time"],
            "filter": "equals(messages.channel,'email')", "include": ["campaign-messages"]}),
        ("get_campaign", "Campaigns", "get_campaign", [ids["campaign"]], {"include": ["campaign-messages"]}),
        ("get_catalog_items", "Catalogs", "get_catalog_items", [], {"fields_catalog_item": ["title", "price",
            "url", "published"], "filter": "equals(published,true)", "include": ["variants"], "sort": "-created"}),
        ("get_events", "Events", "get_events", [], {"fields_event": ["timestamp", "event_properties", "datetime",
            "uuid"], "fields_metric": ["name", "created", "updated", "integration"], "fields_profile": ["email",
            "phone_number", "external_id", "first_name", "last_name"], "include": ["metric", "profile",
            "attributions"], "filter": f"equals(metric_id,\"{ids['metric']}\"),has(profile)", "sort": "-datetime"}),
        ("get_flows", "Flows", "get_flows", [], {"fields_flow": ["name", "status"], "page_size": 10}),
        ("get_flow", "Flows", "get_flow", [ids["flow"]], {}),
        ("get_lists", "Lists", "get_lists", [], {"fields_list": ["name"], "sort": "name", "include": ["tags"]}),
        ("get_list", "Lists", "get_list", [ids["list"]], {"include": ["tags"],
                                                           "additional_fields_list": ["profile_count"]}),
        ("get_metrics", "Metrics", "get_metrics", [], {"fields_metric": ["name"]}),
        ("get_metric", "Metrics", "get_metric", [ids["metric"]], {}),
        ("get_profiles", "Profiles", "get_profiles", [], {"page_size": 5, "fields_profile": ["email"],
                                                          "sort": "-created"}),
        ("get_profile", "Profiles", "get_profile", [ids["profile"]], {"additional_fields_profile": ["subscriptions"]}),
        ("get_campaign_report", "Reporting", "query_campaign_values", [{"data": {"type": "campaign-values-report",
            "attributes": {"statistics": ["opens", "clicks", "conversion_value"], "conversion_metric_id": ids["metric"],
                           "timeframe": tf, "filter": "equals(send_channel,\"email\")"}}}], {}),
        ("get_flow_report", "Reporting", "query_flow_values", [{"data": {"type": "flow-values-report", "attributes": {
            "statistics": ["opens", "clicks"], "conversion_metric_id": ids["metric"], "timeframe": tf,
            "filter": "equals(send_channel,\"email\")"}}}], {}),
        ("get_segments", "Segments", "get_segments", [], {"fields_segment": ["name"], "include": ["tags"]}),
        ("get_segment", "Segments", "get_segment", [ids["segment"]], {"include": ["tags"],
                                                                      "additional_fields_segment": ["profile_count"]}),
        ("get_email_template", "Templates", "get_template", [ids["template"]], {}),
    ]  # fmt: skip


def main(plan_path: str) -> int:
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    release = importlib.metadata.version("klaviyo-api")
    sdk = KlaviyoAPI(plan["api_key"], max_delay=1, max_retries=0, test_host=plan["base_url"])
    served = {tuple(r) for r in plan["served"][sdk._REVISION]} if sdk._REVISION in plan["served"] else set()
    made = bodies(sdk._REVISION, plan["ids"])
    methods = sorted(sdk_methods(), key=lambda m: (ORDER.get(m[2][0], 9), m[2], m[1]))
    results, skipped = [], []
    for group, name, route, raw in methods:
        if route not in served:
            skipped.append(f"{group}.{name}")
            continue
        call = lambda g=group, n=name, r=route, f=raw: _call(sdk, g, n, r, f, plan, made)  # noqa: E731
        result = _outcome(group, name, call, release)
        answer = result.pop("answer", None)
        if route in _CREATED and answer is not None:
            plan["ids"][_CREATED[route]] = answer.data.id
        results.append(result)
    results += [{k: v for k, v in r.items() if k != "answer"} for r in _follow_next(sdk, release)]
    mcp = []
    if release.startswith("24."):
        for tool, group, name, args, kwargs in mcp_server_reads(plan["ids"]):
            fn = getattr(getattr(sdk, group), name)
            sparse = any(k.startswith("fields_") for k in kwargs)
            call = lambda f=fn, a=args, k=kwargs: f(*a, **k)  # noqa: E731
            outcome = _outcome(group, f"{name} (MCP tool {tool})", call, release, sparse)
            mcp.append({k: v for k, v in outcome.items() if k != "answer"})
    counts = {kind: sum(r["result"] == kind for r in results) for kind in ("ok", "failed", "sdk_bug")}
    report = {"release": release, "revision": sdk._REVISION, "methods": len(methods), "not_emulated": len(skipped),
              "counts": counts, "failures": [r for r in results if r["result"] != "ok"],
              "mcp_reads": {"calls": len(mcp), "ok": sum(r["result"] == "ok" for r in mcp),
                            "failures": [r for r in mcp if r["result"] != "ok"]},
              "slowest": sorted(((r["ms"], r["method"]) for r in results), reverse=True)[:15],
              "seconds": round(sum(r["ms"] for r in results) / 1000, 1)}  # fmt: skip
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))

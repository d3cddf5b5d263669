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
from sdk_calls import bodies, mcp_server_reads  # noqa: E402 - beside this file (run as a script)

Route = tuple[str, str]
ORDER = {"POST": 0, "GET": 1, "PATCH": 2, "DELETE": 3}  # create what later calls use; delete last
# Where an SDK release itself is at fault (the sandbox answers as the spec says): release -> method -> why.
SDK_BUGS: dict[str, dict[str, str]] = {}


_DEF = re.compile(r"^(\w+)\(\s*\n        self,\n(.*?)^\) ->", re.S | re.M)  # one chunk: a def's text
_ALIAS = re.compile(r"^    (\w+) = (\w+)$", re.M)
_PARAM = re.compile(r"^        (\w+): .*?(?P<default> = [^,]+)?,$", re.M)
_ROUTE = re.compile(r"^    def _(\w+)_serialize\(.*?method='(\w+)',\s*resource_path='([^']+)'", re.M | re.S)


_QUERY = re.compile(r"_query_params\.append\(\('([^']+)'")


def query_params() -> dict[Route, list[str]]:
    """The query parameters each route's ``_<name>_serialize`` can send, from the API modules' text."""
    out: dict[Route, list[str]] = {}
    for source in Path(openapi_client.api.__path__[0]).glob("*_api.py"):
        for chunk in source.read_text(encoding="utf-8").split("\n    def _")[1:]:
            route = re.search(r"method='(\w+)',\s*resource_path='([^']+)'", chunk)
            if chunk.split("(", 1)[0].endswith("_serialize") and route:
                names = sorted(set(_QUERY.findall(chunk)))
                out[(route.group(1), route.group(2))] = names
    return out


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
    "/api/forms/{id}": "form",
    "/api/form-versions/{id}": "form_version",
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
              "query": {f"{m} {p}": names for (m, p), names in query_params().items() if (m, p) in served},
              "mcp_reads": {"calls": len(mcp), "ok": sum(r["result"] == "ok" for r in mcp),
                            "failures": [r for r in mcp if r["result"] != "ok"]},
              "slowest": sorted(((r["ms"], r["method"]) for r in results), reverse=True)[:15],
              "seconds": round(sum(r["ms"] for r in results) / 1000, 1)}  # fmt: skip
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))

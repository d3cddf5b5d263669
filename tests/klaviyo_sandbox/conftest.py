"""Fixtures for the sandbox tests, and the checker that holds its traffic to Klaviyo's OpenAPI spec.

Every client built by the ``client`` fixtures goes through :class:`ValidatingTransport`: each
response must validate against the spec's schema for its operation and status, and each request
body that the sandbox accepted (2xx) must validate against the operation's request schema. The
spec is the subset shipped in ``tests/klaviyo_openapi/`` (scripts/extract_test_spec.py), so every
clone runs the checks; ``KLAVIYO_OPENAPI_SPEC`` points them at another copy (the full spec).
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from klaviyo_sandbox import Sandbox, SandboxConfig

REPO = Path(__file__).resolve().parents[2]
# KLAVIYO_OPENAPI_SPEC overrides the location (pointing it at a missing file shows the skips).
SPEC_PATH = Path(os.environ.get("KLAVIYO_OPENAPI_SPEC", REPO / "tests" / "klaviyo_openapi" / "stable-2026-07-15.json"))
ANCHOR = date(2026, 3, 1)
BASE = "https://a.klaviyo.com"
REVISION = "2026-07-15"
ACME_KEY = "pk_sandbox_acme_demo"
GLOBEX_KEY = "pk_sandbox_globex_demo"
MEDIA = "application/vnd.api+json"
NO_SPEC = f"Klaviyo's OpenAPI spec is not at {SPEC_PATH} (KLAVIYO_OPENAPI_SPEC); spec checks skipped"


def _to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: ``nullable`` becomes type|null, ``oneOf`` becomes ``anyOf``.

    The spec's alternatives overlap (three identical send_options, integer|number values), so a
    strict oneOf rejects valid documents; Klaviyo's own tooling reads them as anyOf.
    """
    if isinstance(node, list):
        return [_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {("anyOf" if k == "oneOf" else k): _to_jsonschema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str) and "$ref" not in out and "anyOf" not in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


class SpecChecker:
    """Finds the spec operation behind a request and validates bodies against its schemas."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.components = _to_jsonschema(copy.deepcopy(spec["components"]))
        self.operations: list[tuple[str, re.Pattern[str], dict[str, Any]]] = []
        for path, item in spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "/?$")
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    self.operations.append((method.upper(), pattern, op))
        self.checked: set[tuple[str, int]] = set()
        self.error_schema = next(iter(spec["components"]["responses"].values()))

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        return next((op for m, p, op in self.operations if m == method and p.match(path)), None)

    def validate(self, document: Any, schema: dict[str, Any], what: str, sparse: bool = False) -> None:
        """``sparse``: the request asked for fields[...], so required attributes may be absent."""
        root = {**_to_jsonschema(schema), "components": self.components}
        errors = sorted(jsonschema.Draft7Validator(root).iter_errors(document), key=lambda e: list(e.path))
        if sparse:
            errors = [e for e in errors if not (e.validator == "required" and "attributes" in e.path)]
        if errors:
            detail = "; ".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])
            raise AssertionError(f"{what} does not match the spec: {detail}")

    def check_response(
        self, method: str, path: str, status: int, headers: httpx.Headers, body: bytes, sparse: bool = False
    ) -> None:
        op = self.operation(method, path)
        what = f"{method} {path} → {status}"
        if op is None or status >= 400:
            if status < 400:
                raise AssertionError(f"{what}: a success for a route the spec does not have")
            responses = op["responses"] if op else {}
            declared = responses.get(f"{status // 100}XX", self.error_schema)
            schema = self._schema(declared)
            assert headers.get("content-type") == MEDIA, f"{what}: content-type {headers.get('content-type')}"
            self.validate(json.loads(body), schema, what)
            self.checked.add((op["operationId"] if op else "unknown-route", status))
            return
        assert str(status) in op["responses"], f"{what}: the spec declares {sorted(op['responses'])}"
        declared = op["responses"][str(status)]
        if "content" not in declared:
            assert body == b"", f"{what}: expected no body"
        else:
            assert headers.get("content-type") == MEDIA, f"{what}: content-type {headers.get('content-type')}"
            self.validate(json.loads(body), self._schema(declared), what, sparse)
        self.checked.add((op["operationId"], status))

    def check_request(self, method: str, path: str, body: bytes) -> None:
        op = self.operation(method, path)
        if op is None or "requestBody" not in op or not body:
            return
        content = op["requestBody"]["content"].get(MEDIA)
        if content is None:  # multipart/form-data (an image file): not a JSON document
            return
        self.validate(json.loads(body), content["schema"], f"request body of {method} {path}")

    def _schema(self, declared: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in declared:
            declared = self._resolve(declared["$ref"])
        schema: dict[str, Any] = declared["content"]["application/vnd.api+json"]["schema"]
        return schema

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = {"components": self.components}
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return dict(node)


class ValidatingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, checker: SpecChecker | None) -> None:
        self.inner, self.checker = inner, checker

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        if self.checker is not None:
            path = request.url.path
            sparse = any(name.startswith("fields[") for name in request.url.params)
            self.checker.check_response(request.method, path, response.status_code, response.headers, body, sparse)
            if response.status_code < 300:
                self.checker.check_request(request.method, path, request.content)
        return response


@pytest.fixture(scope="session")
def spec_doc() -> dict[str, Any] | None:
    if not SPEC_PATH.exists():
        return None
    doc: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return doc


@pytest.fixture(scope="session")
def checker(spec_doc: dict[str, Any] | None) -> SpecChecker | None:
    return SpecChecker(spec_doc) if spec_doc is not None else None


@pytest.fixture
def require_spec(spec_doc: dict[str, Any] | None, checker: SpecChecker | None) -> SpecChecker:
    if spec_doc is None or checker is None:
        pytest.skip(NO_SPEC)
    return checker


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(seed=7, anchor=ANCHOR))


ClientFactory = Callable[..., httpx.Client]


@pytest.fixture
def make_client(checker: SpecChecker | None) -> Iterator[ClientFactory]:
    """Clients over a sandbox's transport whose traffic is checked against the spec."""
    made: list[httpx.Client] = []

    def factory(sb: Sandbox, key: str | None = ACME_KEY, revision: str | None = REVISION) -> httpx.Client:
        headers = {}
        if key is not None:
            headers["Authorization"] = f"Klaviyo-API-Key {key}"
        if revision is not None:
            headers["revision"] = revision
        client = httpx.Client(transport=ValidatingTransport(sb.transport, checker), base_url=BASE, headers=headers)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


@pytest.fixture
def client(sandbox: Sandbox, make_client: ClientFactory) -> httpx.Client:
    return make_client(sandbox)


@pytest.fixture
def fast_sandbox() -> Sandbox:
    """A sandbox whose rate windows are negligible, for tests that make many calls."""
    return Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=1e-6))


@pytest.fixture
def fast(fast_sandbox: Sandbox, make_client: ClientFactory) -> httpx.Client:
    return make_client(fast_sandbox)

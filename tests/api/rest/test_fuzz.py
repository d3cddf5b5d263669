"""Fuzzing the live REST API from its own /openapi.json with schemathesis.

gunicorn serves ``create_app()`` on loopback over the Klaviyo sandbox (``tests/api/rest/live.py``);
schemathesis generates cases for every documented operation — schema-valid and schema-violating
(positive and negative modes), the coverage phase's boundary values and undeclared methods —
and every response must hold to:

    not_a_server_error             no 5xx, ever
    status_code_conformance        the status is one the operation documents
    content_type_conformance       ... with the documented media type
    response_schema_conformance    ... and a body valid against the documented schema
    response_headers_conformance   ... with the documented required headers (Retry-After on 429)
    negative_data_rejected         schema-violating input is refused with a 4xx (less lax coercions)
    positive_data_accepted         schema-valid input is never a 400, unless it names a listed cross-field rule
    unsupported_method             an undeclared method is a 405 with Allow
    ... and the rest of schemathesis's checks (--checks all; a test keeps the list complete)
    no_internals                   no traceback, exception name or source path in any body

Budget: FUZZ_EXAMPLES examples per operation and phase (default 4: about 1,500 cases, mostly the
coverage phase's, in about 20 s under ``make test``); ``make fuzz`` raises it to 100 (about 4,000
cases in about a minute). The counts are printed when the module finishes (run with ``-s``).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import ValidationError
from schemathesis import GenerationMode
from schemathesis.checks import max_response_time, not_a_server_error
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    object_level_authorization,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from klaviyo_analytics.tools import get_tool
from tests.api.rest.live import LiveAPI

# Untraced by coverage (pytest-cov's no_cover): the product under test runs in gunicorn, a process
# coverage does not follow, so tracing here only measures the sandbox (covered elsewhere) while it
# doubles the time hypothesis and schemathesis take to generate and check the cases.
pytestmark = pytest.mark.no_cover

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
CASES: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()
LAX: Counter[str] = Counter()
RULED: Counter[str] = Counter()
INTERNALS = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\.py\"|/site-packages/|\.py\", line \d"
    r"|\b(?:KeyError|TypeError|AttributeError|RecursionError|IndexError|NameError|UnicodeDecodeError"
    r"|JSONDecodeError|ValidationError|OperationalError|IntegrityError)\b"
    r"|<(?:class|function|module|bound method) '?[\w.]+|object at 0x[0-9a-f]+"
)


@schemathesis.check
def no_internals(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> bool:
    """No response body may show how the server is built (tracebacks, exception classes, paths)."""
    found = INTERNALS.search(response.text or "")
    if found:
        raise AssertionError(f"response body exposes internals: {found.group(0)!r}")
    return True


def accepted_by_lax_coercion(case: schemathesis.Case) -> bool:
    """A schema-violating body that the tool's model takes only through pydantic's lax mode
    (``"3"`` or ``true`` for a number, ``"yes"`` for a boolean): strict JSON validation refuses it."""
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id is None or not isinstance(case.body, dict):
        return False
    arguments = {**case.body, **(case.path_parameters or {})}
    try:
        get_tool(operation_id).params.model_validate_json(json.dumps(arguments), strict=True)
    except (KeyError, ValidationError, TypeError, ValueError):
        return True
    return False  # valid even strictly: the document is narrower than the model, a real mismatch


@schemathesis.check
def negative_data_rejected(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """schemathesis's negative_data_rejection, less the lax scalar coercions tools accept on purpose
    (counted in LAX, recorded in RELIABILITY.md)."""
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if accepted_by_lax_coercion(case):
            LAX[case.operation.label] += 1
            return True
        raise


@schemathesis.check
def positive_data_accepted(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """schemathesis's positive_data_acceptance, less a 400 that names (``details.rule``) one of the
    cross-field rules the document lists under ``info.x-rules`` (a JSON schema cannot state them;
    counted in RULED, recorded in RELIABILITY.md)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        rule = broken_rule(response)
        if response.status_code == 400 and rule in case.operation.schema.raw_schema["info"].get("x-rules", {}):
            RULED[rule] += 1
            return True
        raise


def broken_rule(response: schemathesis.Response) -> str | None:
    try:
        details = json.loads(response.text or "{}")["error"]["details"]
    except (ValueError, KeyError, TypeError):
        return None
    return details.get("rule") if isinstance(details, dict) else None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejected,
    positive_data_accepted,
    unsupported_method,
    allow_header_conformance,
    missing_required_header,
    ignored_auth,
    use_after_free,
    ensure_resource_availability,
    object_level_authorization,
    max_response_time,  # a bound only when configured; listed so that "every check" is literal
    no_internals,
]


@pytest.fixture(scope="module")
def live_schema(live_api: LiveAPI) -> Iterator[schemathesis.BaseSchema]:
    schema = schemathesis.openapi.from_url(f"{live_api.url}/openapi.json", timeout=10)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES, allow_x00=True
    )
    started = time.monotonic()
    yield schema
    report(time.monotonic() - started)


def report(seconds: float) -> None:
    """The figures RELIABILITY.md quotes; shown with ``-s`` (``make fuzz`` passes it)."""
    total = sum(CASES.values())
    print(f"\nfuzz: {total} cases over {len(CASES)} operations in {seconds:.1f} s ({EXAMPLES} examples per phase)")
    print("fuzz: statuses " + ", ".join(f"{status}: {n}" for status, n in sorted(STATUSES.items())))
    print(f"fuzz: schema-violating bodies accepted by lax coercion: {sum(LAX.values())} {dict(LAX)}")
    print(f"fuzz: schema-valid requests refused by a documented cross-field rule: {sum(RULED.values())} {dict(RULED)}")
    for label, n in sorted(CASES.items()):
        print(f"fuzz:   {n:5d}  {label}")


schema = schemathesis.pytest.from_fixture("live_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's lazy schema reads and rewrites ``node._nodeid``, which pytest 9 no longer has.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.mark.slow
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_live_api_holds_its_contract(case: schemathesis.Case, live_api: LiveAPI) -> None:
    approving = case.path.endswith(("/approve", "/reject"))
    token = live_api.approver if approving else live_api.token
    headers = {"Authorization": f"Bearer {token}"}
    response = case.call(headers=headers, timeout=30)
    CASES[case.operation.label] += 1
    STATUSES[response.status_code] += 1
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except Exception:
        print(f"--- server log tail ---\n{live_api.log_tail()}")
        raise


def test_the_fuzz_runs_every_check_schemathesis_has() -> None:
    from schemathesis.config._checks import _BUILTIN_CHECK_NAMES  # the list `--checks all` runs

    ours = {check.__name__ for check in CHECKS} - {"no_internals"}
    wrapped = {
        "negative_data_rejected": "negative_data_rejection",
        "positive_data_accepted": "positive_data_acceptance",
    }
    assert {wrapped.get(name, name) for name in ours} == set(_BUILTIN_CHECK_NAMES)

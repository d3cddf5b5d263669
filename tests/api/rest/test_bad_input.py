"""Hostile and broken REST input: each a clear 4xx in the one error shape, never a 500 or a redirect."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from api.limits import MAX_JSON_DEPTH, json_depth
from tests.api.rest.conftest import APPROVER_TOKEN, AUTH

PERFORMANCE = "/v1/campaigns/performance"


def assert_error(response: TestResponse, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    if field is not None:
        assert error["details"]["field"] == field
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "Error'" not in text and ".py" not in text
    return dict(error)


def post(
    app: Flask, data: bytes | str, content_type: str = "application/json", path: str = PERFORMANCE
) -> TestResponse:
    return app.test_client().post(path, data=data, content_type=content_type, headers=AUTH)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 10_000])
def test_deeply_nested_json_is_a_clear_400_not_a_recursion_error(app: Flask, depth: int) -> None:
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth, "[" * depth):
        error = assert_error(post(app, body), 400, "INVALID_ARGUMENT", "(body)")
        assert f"deeper than {MAX_JSON_DEPTH}" in error["message"]


def test_the_deepest_body_that_fits_the_size_cap_is_still_a_400(app: Flask) -> None:
    depth = 100_000  # 200 KB of brackets, under the 256 KiB cap
    assert_error(post(app, "[" * depth + "]" * depth), 400, "INVALID_ARGUMENT", "(body)")


def test_deep_nesting_is_refused_on_the_approval_routes_too(app: Flask) -> None:
    if not any(rule.endpoint.startswith("approvals.") for rule in app.url_map.iter_rules()):
        pytest.skip("this checkout has no approval routes")
    response = app.test_client().post(
        "/v1/actions/act_x/approve",
        data="[" * 10_000 + "]" * 10_000,
        content_type="application/json",
        headers={"Authorization": f"Bearer {APPROVER_TOKEN}"},
    )
    assert_error(response, 400, "INVALID_ARGUMENT", "(body)")


def test_nesting_within_the_limit_reaches_validation(app: Flask) -> None:
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    error = assert_error(
        post(app, '{"account": "acme", "timeframe": "today", "x": ' + nested + "}"), 400, "INVALID_ARGUMENT"
    )
    assert error["details"]["field"] == "x"  # parsed, then refused as an unknown field


def test_json_depth_skips_brackets_inside_strings() -> None:
    assert json_depth('{"a": "[[[[[[", "b": ["}}}"]}') == 2
    assert json_depth('"\\"[["') == 0
    assert json_depth("[[[]]]") == 3


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b'{"account": "\xff\xfe"}', "application/json", "not UTF-8"),
        (b"\xef\xbb\xbf{}", "application/json", "not valid JSON"),  # a UTF-8 byte-order mark
        ('{"account": "acme",}', "application/json", "not valid JSON"),
        ("{}", "text/plain", "Content-Type: application/json"),
        ("account=acme", "application/x-www-form-urlencoded", "Content-Type: application/json"),
        ("{}", "application/json; charset=latin-1", "Content-Type: application/json"),
        ("<xml/>", "application/xml", "Content-Type: application/json"),
    ],
)
def test_undecodable_or_mistyped_bodies(app: Flask, body: bytes | str, content_type: str, needle: str) -> None:
    error = assert_error(post(app, body, content_type), 400, "INVALID_ARGUMENT", "(body)")
    assert needle in error["message"]


def test_oversized_body_is_413(app: Flask) -> None:
    assert_error(post(app, '{"a": "' + "x" * 300_000 + '"}'), 413, "PAYLOAD_TOO_LARGE")


def test_chunked_body_is_refused_rather_than_ignored(app: Flask) -> None:
    response = app.test_client().post(
        PERFORMANCE, data=b"{}", headers={**AUTH, "Transfer-Encoding": "chunked", "Content-Type": "application/json"}
    )
    assert_error(response, 400, "INVALID_ARGUMENT", "(body)")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/flows/..%2F/structure",  # an encoded slash: the server decodes it into the path
        "/v1/flows/%2F/structure",
        "/v1/flows//structure",
        "/v1/flows/a%2Fb/structure",
        "/v1/actions/act_%2F..",
    ],
)
def test_ids_with_path_characters_are_404_in_the_error_shape_never_a_redirect(app: Flask, path: str) -> None:
    assert_error(app.test_client().get(path, headers=AUTH), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    "flow_id", ["..", "%2E%2E", "caf%C3%A9", "%E2%80%AE", "%00", "a" * 65, "%20", "a.b", "%F0%9F%98%80"]
)
def test_ids_that_are_not_klaviyo_ids_are_refused_by_name(app: Flask, flow_id: str) -> None:
    response = app.test_client().get(f"/v1/flows/{flow_id}/structure", headers=AUTH)
    assert_error(response, 400, "INVALID_ARGUMENT", "flow_id")


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        (("9999-12-31", "9999-12-31"), "start_date"),
        (("0001-01-01", "0001-01-02"), "start_date"),
        (("2026-01-01", "2101-01-01"), "end_date"),
        (("10000-01-01", "10000-01-02"), "start_date"),
        (("2026-02-30", "2026-03-01"), "start_date"),
        (("2026-01-01T10:30:00", "2026-01-02"), "start_date"),
        (("-2026-01-01", "2026-01-02"), "start_date"),
    ],
)
def test_dates_out_of_range_or_malformed(app: Flask, dates: tuple[str, str], field: str) -> None:
    body = {"account": "acme", "start_date": dates[0], "end_date": dates[1]}
    response = app.test_client().post(PERFORMANCE, json=body, headers=AUTH)
    assert_error(response, 400, "INVALID_ARGUMENT", field)


def test_wrong_method_is_405_with_allow(app: Flask) -> None:
    response = app.test_client().delete("/v1/accounts", headers=AUTH)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_unknown_query_parameter_names_the_field(app: Flask) -> None:
    response = app.test_client().get("/v1/flows?colour=red", headers=AUTH)
    assert_error(response, 400, "INVALID_ARGUMENT", "colour")


def post_routes(app: Flask) -> list[str]:
    """Every POST route, path parameters filled with a well-formed id."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()) and rule.rule.startswith("/v1/"):
            paths.append(rule.rule.replace("<action_id>", "act_" + "a" * 20))
    return sorted(paths)


def test_a_4301_digit_integer_is_a_400_naming_its_field_on_every_post_route(app: Flask) -> None:
    routes = post_routes(app)
    assert "/v1/campaigns/performance" in routes and any(r.endswith("/approve") for r in routes)
    huge = "9" * 4301  # past Python's int/str conversion limit: json.loads raised ValueError, a 500
    for path in routes:
        client = app.test_client()
        token = APPROVER_TOKEN if path.endswith(("/approve", "/reject")) else None
        headers = {"Authorization": f"Bearer {token}"} if token else AUTH
        for body, field in ((f'{{"limit": {huge}}}', "limit"), (f'{{"a": {{"b": [1, -{huge}]}}}}', "a.b[1]")):
            response = client.post(path, data=body, content_type="application/json", headers=headers)
            error = assert_error(response, 400, "INVALID_ARGUMENT", field)
            assert "4301 digits" in error["message"], path


def test_non_finite_numbers_are_refused(app: Flask) -> None:
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        assert_error(post(app, f'{{"limit": {literal}}}'), 400, "INVALID_ARGUMENT", "limit")


def test_a_key_given_twice_is_refused_not_last_wins(app: Flask) -> None:
    error = assert_error(post(app, '{"account": "acme", "account": "globex"}'), 400, "INVALID_ARGUMENT", "account")
    assert "appears twice" in error["message"]
    nested = post(app, '{"timeframe": "last_7_days", "x": {"k": 1, "k": 2}}')
    assert_error(nested, 400, "INVALID_ARGUMENT", "k")


@pytest.mark.parametrize(
    "value", ["2026-01-01T00:00:00+14:00", "2026-01-01 00:00", "1767225600", 1767225600, "20260101", "2026-W01-1",
              "2026-02-30", "2026-1-1", True]
)  # fmt: skip
def test_dates_are_yyyy_mm_dd_only_and_the_error_says_so(app: Flask, value: object) -> None:
    body = {"start_date": value, "end_date": "2026-01-31"}
    response = app.test_client().post(PERFORMANCE, json=body, headers=AUTH)
    error = assert_error(response, 400, "INVALID_ARGUMENT", "start_date")
    assert "YYYY-MM-DD" in error["message"]


def test_a_yyyy_mm_dd_date_is_accepted(app: Flask) -> None:
    response = app.test_client().post(
        PERFORMANCE, json={"start_date": "2026-01-01", "end_date": "2026-01-31"}, headers=AUTH
    )
    assert response.status_code != 400 or response.json["error"]["details"].get("field") not in (
        "start_date",
        "end_date",
    )


@pytest.mark.parametrize("verb", ["approve", "reject"])
@pytest.mark.parametrize("raw", ["act_%0D%0AX-Injected:%201", "act_%00", "nope", "act_" + "a" * 65, "act_%E2%80%AE"])
def test_approve_and_reject_check_the_id_format_like_execute(app: Flask, verb: str, raw: str) -> None:
    response = app.test_client().post(
        f"/v1/actions/{raw}/{verb}", headers={"Authorization": f"Bearer {APPROVER_TOKEN}"}
    )
    error = assert_error(response, 400, "INVALID_ARGUMENT", "action_id")
    assert "act_" in error["message"] and not any(c in response.get_data(as_text=True) for c in "\r\x00\u202e")
    execute = app.test_client().post(f"/v1/actions/{raw}/execute", headers=AUTH)
    assert_error(execute, 400, "INVALID_ARGUMENT", "action_id")  # the rule approve and reject now share

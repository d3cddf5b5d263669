"""Authentication, scopes, the revision header, routing and the error document."""

from __future__ import annotations

import httpx
import pytest

from klaviyo_sandbox import Sandbox

from .conftest import GLOBEX_KEY, ClientFactory
from .helpers import error_of, post


def test_missing_key_is_401_not_authenticated(sandbox: Sandbox, make_client: ClientFactory) -> None:
    response = make_client(sandbox, key=None).get("/api/accounts")
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "not_authenticated"
    assert set(error) >= {"id", "status", "code", "title", "detail", "source", "links", "meta"}
    assert error["status"] == 401


def test_unknown_key_is_401_and_never_echoed(sandbox: Sandbox, make_client: ClientFactory) -> None:
    response = make_client(sandbox, key="pk_sandbox_nobody").get("/api/accounts")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert "pk_sandbox_nobody" not in response.text


def test_malformed_authorization_header_is_401(sandbox: Sandbox, make_client: ClientFactory) -> None:
    client = make_client(sandbox, key=None)
    response = client.get("/api/accounts", headers={"Authorization": "Bearer pk_sandbox_acme_demo"})
    assert response.status_code == 401


def test_each_key_sees_its_own_account(sandbox: Sandbox, make_client: ClientFactory) -> None:
    acme = make_client(sandbox).get("/api/accounts").json()["data"][0]
    globex = make_client(sandbox, key=GLOBEX_KEY).get("/api/accounts").json()["data"][0]
    assert acme["id"] != globex["id"]
    assert acme["attributes"]["timezone"] != globex["attributes"]["timezone"]


def test_restricted_key_gets_403_naming_the_missing_scope(sandbox: Sandbox, make_client: ClientFactory) -> None:
    sandbox.add_key("acme", "pk_sandbox_acme_readonly", scopes=["accounts:read", "lists:read"])
    client = make_client(sandbox, key="pk_sandbox_acme_readonly")
    assert client.get("/api/accounts").status_code == 200
    assert client.get("/api/lists").status_code == 200
    denied = post(client, "/api/lists", {"type": "list", "attributes": {"name": "Nope"}})
    assert denied.status_code == 403
    error = error_of(denied)
    assert error["code"] == "permission_denied"
    assert "lists:write" in error["detail"]
    assert sandbox.state()["accounts"]["acme"]["lists"] == []
    assert sandbox.log()[-1]["key"] == "acme:extra-1"


def test_add_key_for_unknown_account_fails(sandbox: Sandbox) -> None:
    with pytest.raises(KeyError):
        sandbox.add_key("initech", "pk_sandbox_x")


@pytest.mark.parametrize(
    ("revision", "fragment"),
    [
        (None, "required"),
        ("July 2026", "YYYY-MM-DD"),
        ("2026-13-40", "YYYY-MM-DD"),
        ("2026-07-16", "not published"),
        ("2099-01-01.pre", "not published"),
        ("2019-01-01", "not published"),  # before Klaviyo's first revision
        ("2026-09-15", "not published"),  # between two quarterly releases
    ],
)
def test_bad_revision_is_400(sandbox: Sandbox, make_client: ClientFactory, revision: str | None, fragment: str) -> None:
    response = make_client(sandbox, revision=revision).get("/api/accounts")
    assert response.status_code == 400
    error = error_of(response)
    assert error["source"] == {"parameter": "revision"}
    assert fragment in error["detail"]


@pytest.mark.parametrize("revision", ["2026-07-15", "2026-10-15"])
def test_emulated_revisions_are_answered_as_themselves(
    sandbox: Sandbox, make_client: ClientFactory, revision: str
) -> None:
    response = make_client(sandbox, revision=revision).get("/api/accounts")
    assert response.status_code == 200
    assert "Sandbox-Emulated-Revision" not in response.headers  # no silent stand-in any more


@pytest.mark.parametrize(
    "revision",
    [
        "2025-04-15",  # deprecated
        "2026-07-15.pre",  # a beta of an emulated date: its beta endpoints are not emulated
        "2023-02-22",  # retired: Klaviyo falls forward, the sandbox does not pretend to
    ],
)
def test_published_revisions_not_emulated_are_refused(
    sandbox: Sandbox, make_client: ClientFactory, revision: str
) -> None:
    response = make_client(sandbox, revision=revision).get("/api/accounts")
    assert response.status_code == 400
    error = error_of(response)
    assert error["source"] == {"parameter": "revision"} and error["code"] == "invalid"
    assert "not emulated" in error["detail"] and "2026-10-15" in error["detail"]


def test_one_revision_table_for_the_sandbox_and_the_product() -> None:
    from klaviyo_analytics.config import DEFAULT_REVISION
    from klaviyo_analytics.klaviyo import revisions
    from klaviyo_sandbox import spec

    assert revisions.BUILT_FOR == DEFAULT_REVISION == spec.revision()
    assert list(revisions.PUBLISHED) == sorted(revisions.PUBLISHED)
    found = revisions.lookup("2026-07-15")
    assert (str(found.deprecated), str(found.retired)) == ("2027-07-15", "2028-07-15")
    assert [found.status(d) for d in (found.released, found.deprecated, found.retired)] == [
        "stable", "deprecated", "retired",
    ]  # fmt: skip


def test_unknown_route_is_404_and_wrong_method_is_405(client: httpx.Client) -> None:
    missing = client.get("/api/coupons")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"
    wrong = client.put("/api/lists")
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["Allow"]
    assert error_of(wrong)["code"] == "method_not_allowed"


def test_unknown_resource_id_is_404(client: httpx.Client) -> None:
    for path in ("/api/campaigns/NOPE", "/api/flows/NOPE", "/api/lists/NOPE", "/api/metrics/NOPE"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "NOPE" in error_of(response)["detail"]


def test_trailing_slash_is_the_same_route(client: httpx.Client) -> None:
    assert client.get("/api/accounts/").status_code == 200


def test_invalid_json_body_is_400(client: httpx.Client) -> None:
    response = client.post("/api/lists", content=b"{not json", headers={"Content-Type": "application/vnd.api+json"})
    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": "/"}


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/data"),
        ({"data": []}, "/data"),
        ({"data": {"type": "segment", "attributes": {"name": "x"}}}, "/data/type"),
        ({"data": {"type": "list", "attributes": "x"}}, "/data/attributes"),
        ({"data": {"type": "list", "attributes": {}}}, "/data/attributes/name"),
        (
            {"data": {"type": "list", "attributes": {"name": "x", "opt_in_process": "maybe"}}},
            "/data/attributes/opt_in_process",
        ),
    ],
)
def test_body_frame_errors_point_at_the_member(client: httpx.Client, body: dict[str, object], pointer: str) -> None:
    response = client.post("/api/lists", json=body)
    assert response.status_code == 400
    assert error_of(response)["source"] == {"pointer": pointer}


def test_every_request_is_logged_without_the_key(sandbox: Sandbox, client: httpx.Client) -> None:
    client.get("/api/lists", params={"page[size]": "2"})
    post(client, "/api/lists", {"type": "list", "attributes": {"name": "Logged"}})
    client.get("/api/nope")
    entries = sandbox.log()
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("GET", "/api/lists", 200),
        ("POST", "/api/lists", 201),
        ("GET", "/api/nope", 404),
    ]
    assert entries[0]["query"] == {"page[size]": "2"}
    assert entries[1]["body"] == {"data": {"type": "list", "attributes": {"name": "Logged"}}}
    assert entries[1]["account"] == "acme"
    assert entries[1]["key"] == "acme:default"
    assert "pk_sandbox" not in repr(entries)

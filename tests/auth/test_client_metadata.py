"""Client ID Metadata Documents and RFC 9207 ``iss`` in the embedded authorization server (in process).

Documents are served over https on loopback (tests/auth/cimd_server.py) and reached through the
test-only allowance KLAVIYO_MCP_OAUTH_CIMD_TEST_CA_FILE; the SDK's client end to end is in
tests/adapters/mcp_http/test_cimd_end_to_end.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest

from klaviyo_analytics.auth import client_metadata
from klaviyo_analytics.auth.client_metadata import ClientMetadataResolver, cache_seconds
from klaviyo_analytics.clock import ManualClock
from klaviyo_analytics.errors import InvalidArgumentError
from tests.adapters.mcp_http.oauth_client import REDIRECT_URI, pkce
from tests.auth.cimd_server import DocumentServer, Page, document_server
from tests.auth.embedded_app import BASE, PASSWORD, RESOURCE, Embedded, embedded_app


@pytest.fixture
def docs(tmp_path: Path) -> Iterator[DocumentServer]:
    with document_server(tmp_path) as server:
        yield server


@pytest.fixture
def cimd(tmp_path: Path, docs: DocumentServer) -> Embedded:
    return embedded_app(tmp_path, KLAVIYO_MCP_OAUTH_CIMD_TEST_CA_FILE=str(docs.ca_file))


def authorize(oauth: Embedded, client_id: str, redirect_uri: str = REDIRECT_URI, **extra: str) -> Any:
    _, challenge = pkce()
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "code_challenge": challenge,
        "code_challenge_method": "S256", "state": "s", "resource": RESOURCE, **extra,
    }  # fmt: skip
    return oauth.client.get("/authorize", params=params, follow_redirects=False)


def test_the_metadata_advertises_metadata_documents_iss_and_public_clients(cimd: Embedded) -> None:
    metadata = cimd.client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "none" in metadata["token_endpoint_auth_methods_supported"]
    assert metadata["registration_endpoint"] == BASE + "/register"  # DCR stays, for clients that need it


def test_a_metadata_document_client_signs_in_refreshes_and_revokes(cimd: Embedded, docs: DocumentServer) -> None:
    # Attacker-chosen name: markup and a right-to-left override must reach the page inert.
    client_id = docs.document("/connector.json", client_name="<b>Evil</b>\u202etxt.exe")
    client = {"client_id": client_id}
    verifier, challenge = pkce()
    html, login_id, csrf = cimd.login_page(client_id, challenge)
    host = urlsplit(client_id).netloc
    assert "&lt;b&gt;Evil&lt;/b&gt;" in html and "<b>Evil" not in html and "\u202e" not in html
    assert f"identified by <code><bdi>{host}</bdi></code>" in html
    form = {"id": login_id, "csrf": csrf, "username": "alice", "password": PASSWORD, "decision": "allow"}
    answer = cimd.client.post("/oauth/login", data=form, follow_redirects=False)
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["iss"] == [BASE]  # RFC 9207
    tokens = cimd.exchange(client, query["code"][0], verifier)
    assert tokens.status_code == 200, tokens.text
    refreshed = cimd.refresh(client, tokens.json()["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    revoke = {"token": refreshed.json()["refresh_token"], "client_id": client_id}
    assert cimd.client.post("/revoke", data=revoke).status_code == 200
    assert cimd.refresh(client, refreshed.json()["refresh_token"]).json()["error"] == "invalid_grant"
    assert docs.hits["/connector.json"] == 1  # authorize, login page, token, refresh, revoke: one fetch, cached


def _big(docs: DocumentServer) -> str:
    client_id = docs.document("/big.json", software_id="x" * 100)
    body = json.loads(docs.pages["/big.json"].body) | {"pad": "x" * client_metadata.MAX_DOCUMENT_BYTES}
    docs.pages["/big.json"] = Page(json.dumps(body).encode())
    return client_id


def _slow(docs: DocumentServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(client_metadata, "FETCH_TIMEOUT_SECONDS", 0.3)
    client_id = docs.document("/slow.json")
    docs.pages["/slow.json"].delay = 5
    return client_id


def _redirect(docs: DocumentServer) -> str:
    docs.pages["/moved.json"] = Page(b"", 302, {"Location": "https://127.0.0.1:1/elsewhere.json"})
    return docs.url("/moved.json")


BAD = {
    "http URL": (lambda d, m: "http://example.com/client.json", "invalid_client", "must use https"),
    "private address": (lambda d, m: "https://10.0.0.7/client.json", "invalid_client", "private-network address"),
    "root path": (lambda d, m: "https://example.com/", "invalid_client", "must have a path"),
    "client_id mismatch": (
        lambda d, m: d.document("/a.json", client_id="https://other.example/a.json"),
        "invalid_client",
        "names client_id 'https://other.example/a.json', not its own URL",
    ),
    "oversize": (lambda d, m: _big(d), "invalid_client", f"larger than {client_metadata.MAX_DOCUMENT_BYTES} bytes"),
    "timeout": (lambda d, m: _slow(d, m), "temporarily_unavailable", "did not arrive within 0.3 s"),
    "redirect": (lambda d, m: _redirect(d), "invalid_client", "answered 302: redirects are not followed"),
    "not found": (lambda d, m: d.url("/missing.json"), "invalid_client", "answered 404, not 200"),
    "secret auth": (
        lambda d, m: d.document("/s.json", token_endpoint_auth_method="client_secret_post"),
        "invalid_client",
        "token_endpoint_auth_method is 'client_secret_post'; only 'none'",
    ),
    "bad redirect uri": (
        lambda d, m: d.document("/r.json", redirect_uris=["http://evil.example/cb"]),
        "invalid_client",
        "https, or http on a loopback address",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_document_gets_its_own_oauth_error_and_no_redirect(
    case: str, cimd: Embedded, docs: DocumentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    make, error, description = BAD[case]
    answer = authorize(cimd, make(docs, monkeypatch))
    assert answer.status_code == 400 and "location" not in answer.headers
    assert answer.json()["error"] == error
    assert description in answer.json()["error_description"], answer.json()


def test_a_redirect_uri_the_document_does_not_list_is_refused(cimd: Embedded, docs: DocumentServer) -> None:
    client_id = docs.document("/c.json")
    answer = authorize(cimd, client_id, redirect_uri="http://127.0.0.1:9/other")
    assert answer.status_code == 400 and "location" not in answer.headers
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "Redirect URI 'http://127.0.0.1:9/other' not registered for client",
        "state": "s",
    }


def test_loopback_documents_are_refused_without_the_test_allowance(tmp_path: Path, docs: DocumentServer) -> None:
    oauth = embedded_app(tmp_path)
    answer = authorize(oauth, docs.document("/c.json"))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client"
    assert "loopback address" in answer.json()["error_description"]
    assert docs.hits == {}


def test_a_host_that_resolves_to_a_private_address_is_refused_before_connecting() -> None:
    resolver = ClientMetadataResolver()
    resolver.resolve_host = lambda host, port: ["192.168.1.20"]
    with pytest.raises(InvalidArgumentError) as caught:
        anyio.run(resolver.resolve, "https://cimd.example.com/client.json")
    assert caught.value.details["reason"] == "private"
    assert "resolves to 192.168.1.20" in caught.value.message


def test_sdk_error_redirects_carry_iss(cimd: Embedded) -> None:
    client = cimd.register().json()
    answer = authorize(cimd, client["client_id"], scope="not-granted")
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["invalid_scope"] and query["iss"] == [BASE]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, client_metadata.DEFAULT_CACHE_SECONDS),
        ("public, max-age=600", 600),
        ("max-age=5", client_metadata.MIN_CACHE_SECONDS),
        ("max-age=99999999", client_metadata.MAX_CACHE_SECONDS),
        ("no-store", client_metadata.MIN_CACHE_SECONDS),
    ],
)
def test_cache_lifetime_is_max_age_within_bounds(header: str | None, seconds: float) -> None:
    assert cache_seconds(header) == seconds


def test_a_cached_document_is_fetched_again_after_its_max_age(docs: DocumentServer) -> None:
    clock = ManualClock(datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    resolver = ClientMetadataResolver(clock, docs.ca_file)
    client_id = docs.document("/c.json")
    docs.pages["/c.json"].headers["Cache-Control"] = "max-age=600"
    for _ in range(2):
        assert anyio.run(resolver.resolve, client_id).client_name == "CIMD connector"
    assert docs.hits["/c.json"] == 1
    clock.advance(601)
    anyio.run(resolver.resolve, client_id)
    assert docs.hits["/c.json"] == 2
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+/c\.json", client_id)


def test_fetches_that_miss_the_cache_count_against_the_registration_limit(tmp_path: Path, docs: DocumentServer) -> None:
    oauth = embedded_app(
        tmp_path, KLAVIYO_MCP_OAUTH_CIMD_TEST_CA_FILE=str(docs.ca_file), KLAVIYO_MCP_REGISTRATION_RATE_LIMIT="2/minute"
    )
    first, second, third = (docs.document(f"/{n}.json") for n in ("one", "two", "three"))
    assert authorize(oauth, first).status_code == 302 and authorize(oauth, second).status_code == 302
    assert authorize(oauth, first).status_code == 302  # cached: no fetch, not counted
    refused = authorize(oauth, third)
    assert refused.status_code == 429 and refused.json()["error"] == "temporarily_unavailable"
    assert refused.headers["retry-after"] == "60" and "/three.json" not in docs.hits

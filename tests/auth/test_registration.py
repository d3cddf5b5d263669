"""Dynamic client registration, bounded: per-address rate, field sizes, redirect URI count, the optional
initial access token, expiry of registrations never used; and what the consent page shows of a client."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from klaviyo_analytics.auth.oauth_store import SqliteOAuthStore
from klaviyo_analytics.auth.registration import MAX_NAME_CHARS, MAX_REDIRECT_URIS
from tests.adapters.mcp_http.oauth_client import REDIRECT_URI, pkce
from tests.auth.embedded_app import Embedded, embedded_app


@pytest.fixture
def oauth(tmp_path: Path) -> Embedded:
    return embedded_app(tmp_path)


def test_registrations_are_limited_per_address(tmp_path: Path) -> None:
    oauth = embedded_app(tmp_path, KLAVIYO_MCP_REGISTRATION_RATE_LIMIT="3/minute")
    statuses = [oauth.register().status_code for _ in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    with oauth.db() as db:
        assert db.execute("SELECT count(*) FROM clients").fetchone() == (3,)


@pytest.mark.parametrize(
    "metadata",
    [
        {"client_name": "x" * 900_000},  # the review's 900 KB name (past the body cap: 413)
        {"client_name": "x" * (MAX_NAME_CHARS + 1)},
        {"redirect_uris": [f"{REDIRECT_URI}{n}" for n in range(MAX_REDIRECT_URIS + 1)]},
        {"redirect_uris": [f"{REDIRECT_URI}{n}" for n in range(20_000)]},  # the review's 20,000
        {"redirect_uris": [REDIRECT_URI + "?" + "q" * 3000]},
        {"client_uri": "https://example.com/" + "a" * 3000},
        {"contacts": [f"a{n}@example.com" for n in range(50)]},
        {"software_id": "s" * 5000},
    ],
    ids=["900KB-name", "long-name", "11-uris", "20000-uris", "long-uri", "long-client-uri", "contacts", "software-id"],
)
def test_every_metadata_field_is_bounded(oauth: Embedded, metadata: dict[str, object]) -> None:
    answer = oauth.register(**metadata)
    assert answer.status_code in (400, 413), answer.text
    if answer.status_code == 400:
        assert answer.json()["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    with oauth.db() as db:
        assert db.execute("SELECT count(*) FROM clients").fetchone() == (0,)


def test_a_redirect_uri_with_userinfo_is_refused(oauth: Embedded) -> None:
    answer = oauth.register(redirect_uris=["https://claude.ai@evil.example.com/callback"])
    assert answer.status_code == 400 and "userinfo" in answer.json()["error_description"]


def test_the_initial_access_token_is_required_when_set(tmp_path: Path) -> None:
    oauth = embedded_app(tmp_path, KLAVIYO_MCP_REGISTRATION_TOKEN="initial-access-token-0001")
    assert oauth.register().status_code == 401
    assert oauth.register(headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = oauth.register(headers={"Authorization": "Bearer initial-access-token-0001"})
    assert answer.status_code == 201, answer.text


def test_registrations_never_used_expire(oauth: Embedded) -> None:
    unused = oauth.register().json()
    used, _ = oauth.tokens()
    with oauth.db() as db:  # both were registered 25 hours ago; only one ever completed an authorization
        db.execute("UPDATE clients SET created_at = ?", (time.time() - 25 * 3600,))
    oauth.register()  # a registration sweeps the stale ones
    store = SqliteOAuthStore(oauth.state_path)
    assert store.get_client(unused["client_id"]) is None
    assert store.get_client(used["client_id"]) is not None


def test_the_consent_page_shows_the_parsed_host_and_isolates_the_client_name(oauth: Embedded) -> None:
    client = oauth.register().json()
    metadata = SqliteOAuthStore(oauth.state_path).get_client(client["client_id"])
    assert metadata is not None
    # A registration stored before the userinfo rule, and a name with a right-to-left override.
    metadata["redirect_uris"] = ["https://claude.ai@evil.example.com/cb"]
    metadata["client_name"] = "Claude\u202e\u2066 gnp.evil"
    with oauth.db() as db:
        db.execute("UPDATE clients SET metadata = ?", (json.dumps(metadata),))
    _, challenge = pkce()
    params = {
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": "https://claude.ai@evil.example.com/cb",
        "code_challenge": challenge, "code_challenge_method": "S256", "state": "s",
    }  # fmt: skip
    answer = oauth.client.get("/authorize", params=params, follow_redirects=False)
    page = oauth.client.get(answer.headers["location"])
    assert "<code><bdi>evil.example.com</bdi></code>" in page.text
    assert "claude.ai@" not in page.text
    assert "\u202e" not in page.text and "\u2066" not in page.text
    assert "<bdi>Claude gnp.evil</bdi>" in page.text

"""The embedded authorization server as the RFCs say: codes expire, public clients revoke, a refresh race
keeps the winner's tokens while a real replay still ends the grant."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from mcp.server.auth.provider import TokenError
from mcp.shared.auth import OAuthClientInformationFull

from klaviyo_analytics.auth.keys import load_signing_key
from klaviyo_analytics.auth.oauth_store import SqliteOAuthStore
from klaviyo_analytics.auth.provider import CODE_TTL_SECONDS, EmbeddedProvider
from klaviyo_analytics.auth.tokens import EmbeddedTokens
from klaviyo_analytics.auth.users import load_directory
from klaviyo_analytics.config import load_settings
from tests.auth.embedded_app import BASE, RESOURCE, Embedded, embedded_app


@pytest.fixture
def oauth(tmp_path: Path) -> Embedded:
    return embedded_app(tmp_path)


def test_a_code_past_its_lifetime_is_refused_at_the_exchange(oauth: Embedded) -> None:
    client = oauth.register().json()
    code, verifier = oauth.code(client)
    with oauth.db() as db:  # the code was issued 130 s ago: 10 s past its 120 s lifetime
        db.execute("UPDATE codes SET expires_at = ?", (time.time() + CODE_TTL_SECONDS - 130,))
    answer = oauth.exchange(client, code, verifier)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    fresh = oauth.register().json()
    assert oauth.exchange(fresh, *oauth.code(fresh)).status_code == 200  # inside its lifetime it works


def test_a_public_client_revokes_with_its_client_id_alone(oauth: Embedded) -> None:
    client, tokens = oauth.tokens(token_endpoint_auth_method="none")
    form = {"token": tokens["refresh_token"], "client_id": client["client_id"], "token_type_hint": "refresh_token"}
    answer = oauth.client.post("/revoke", data=form)
    assert answer.status_code == 200, answer.text  # RFC 7009 §2.1; the SDK's model answered 400
    assert oauth.refresh(client, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    access = {"token": tokens["access_token"], "client_id": client["client_id"]}
    assert oauth.client.post("/revoke", data=access).status_code == 200  # revoking twice is fine
    with oauth.db() as db:
        assert db.execute("SELECT revoked FROM grants").fetchone() == (1,)


def test_a_confidential_client_still_needs_its_secret_to_revoke(oauth: Embedded) -> None:
    client, tokens = oauth.tokens()
    bare = {"token": tokens["refresh_token"], "client_id": client["client_id"]}
    answer = oauth.client.post("/revoke", data=bare)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert oauth.refresh(client, tokens["refresh_token"]).status_code == 200  # nothing was revoked
    unknown = oauth.client.post("/revoke", data={"token": "x", "client_id": "no-such-client"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"


def test_a_second_refresh_with_one_token_keeps_the_winners_tokens(oauth: Embedded) -> None:
    client, tokens = oauth.tokens()
    winner = oauth.refresh(client, tokens["refresh_token"])
    assert winner.status_code == 200
    late = oauth.refresh(client, tokens["refresh_token"])  # the same client, a moment later
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert oauth.refresh(client, winner.json()["refresh_token"]).status_code == 200  # the grant lives


def test_a_replay_after_the_race_window_still_revokes_the_grant(oauth: Embedded) -> None:
    client, tokens = oauth.tokens()
    rotated = oauth.refresh(client, tokens["refresh_token"]).json()
    with oauth.db() as db:  # the old token was used a minute ago: presenting it now is a replay
        db.execute("UPDATE refresh_tokens SET used_at = ? WHERE used = 1", (time.time() - 60,))
    assert oauth.refresh(client, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert oauth.refresh(client, rotated["refresh_token"]).json()["error"] == "invalid_grant"  # family ended
    with oauth.db() as db:
        assert db.execute("SELECT revoked FROM grants").fetchone() == (1,)


def test_two_interleaved_refreshes_one_wins_and_the_grant_survives(oauth: Embedded, tmp_path: Path) -> None:
    """Both requests load the token before either uses it (the race of the review): one pair, no revocation."""
    client_info, tokens = oauth.tokens()
    settings = load_settings(
        {"KLAVIYO_MCP_OAUTH_STATE_PATH": str(oauth.state_path), "KLAVIYO_MCP_USERS_FILE": str(tmp_path / "users.toml")},
        use_dotenv=False,
        config_dir=tmp_path,
    )
    store = SqliteOAuthStore(oauth.state_path)
    key = load_signing_key(settings)
    directory = load_directory(settings, ())
    provider = EmbeddedProvider(store, key, EmbeddedTokens(key, store, directory, BASE, RESOURCE, 900), 30)

    async def race() -> list[object]:
        client = await provider.get_client(client_info["client_id"])
        assert isinstance(client, OAuthClientInformationFull)
        loaded = [await provider.load_refresh_token(client, tokens["refresh_token"]) for _ in range(2)]
        assert all(loaded)
        results: list[object] = []
        for token in loaded:
            assert token is not None
            try:
                results.append(await provider.exchange_refresh_token(client, token, token.scopes))
            except TokenError as exc:
                results.append(exc)
        return results

    first, second = asyncio.run(race())
    assert isinstance(second, TokenError) and second.error == "invalid_grant"
    assert not isinstance(first, TokenError)
    assert oauth.refresh(client_info, first.refresh_token).status_code == 200  # type: ignore[attr-defined]

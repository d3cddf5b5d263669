"""Bad input and attacks on the tokens and the authorization endpoints of a real server process."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.adapters.mcp_http.oauth_client import (
    REDIRECT_URI,
    authorize_params,
    code_from,
    login_and_get_tokens,
    open_login,
    pkce,
    register,
)
from tests.adapters.mcp_http.process import ALICE_TOKEN, PASSWORDS, McpHttpServer, mcp_http_server

pytestmark = pytest.mark.slow
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


def post_mcp(node: McpHttpServer, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    return httpx.post(node.mcp_url, headers=headers, json=LIST)


def signing_key(node: McpHttpServer) -> ec.EllipticCurvePrivateKey:
    pem = (Path(node.env["KLAVIYO_MCP_OAUTH_STATE_PATH"]).parent / "oauth-signing-key.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


@pytest.fixture(scope="module")
def genuine(embedded: McpHttpServer) -> dict[str, Any]:
    return login_and_get_tokens(embedded.url, embedded.mcp_url, "alice", PASSWORDS["alice"])[1]


def forged(node: McpHttpServer, genuine: dict[str, Any], kind: str) -> str:
    claims = jwt.decode(genuine["access_token"], options={"verify_signature": False})
    key = signing_key(node)
    if kind == "expired":
        return jwt.encode({**claims, "exp": int(time.time()) - 120}, key, algorithm="ES256")
    if kind == "wrong audience":
        return jwt.encode({**claims, "aud": "https://other.example/mcp"}, key, algorithm="ES256")
    if kind == "wrong issuer":
        return jwt.encode({**claims, "iss": "https://other.example"}, key, algorithm="ES256")
    if kind == "alg none":
        return jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    if kind == "tampered":
        header, _, signature = genuine["access_token"].split(".")
        payload = jwt.utils.base64url_encode(jwt.api_jws.json.dumps({**claims, "sub": "bob"}).encode()).decode()
        return f"{header}.{payload}.{signature}"
    if kind == "another key":
        return jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    if kind == "HS256 with the public key":
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        import hashlib
        import hmac
        import json

        head = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = jwt.utils.base64url_encode(json.dumps(claims).encode())
        mac = hmac.new(public, head + b"." + body, hashlib.sha256).digest()
        return (head + b"." + body + b"." + jwt.utils.base64url_encode(mac)).decode()
    raise AssertionError(kind)


def test_the_genuine_token_and_a_static_token_are_accepted(embedded: McpHttpServer, genuine: dict[str, Any]) -> None:
    assert post_mcp(embedded, genuine["access_token"]).status_code == 200
    assert post_mcp(embedded, ALICE_TOKEN).status_code == 200
    assert genuine["expires_in"] == 900 and genuine["token_type"] == "Bearer"


@pytest.mark.parametrize(
    "kind",
    ["expired", "wrong audience", "wrong issuer", "alg none", "tampered", "another key", "HS256 with the public key"],
)
def test_bad_tokens_get_401_with_the_spec_challenge(
    embedded: McpHttpServer, genuine: dict[str, Any], kind: str
) -> None:
    response = post_mcp(embedded, forged(embedded, genuine, kind))
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
    assert f'resource_metadata="{embedded.url}/.well-known/oauth-protected-resource/mcp"' in challenge


def test_protected_resource_metadata_names_the_resource_and_its_authorization_server(embedded: McpHttpServer) -> None:
    metadata = httpx.get(embedded.url + "/.well-known/oauth-protected-resource/mcp").json()
    assert metadata["resource"] == embedded.mcp_url
    assert metadata["authorization_servers"] == [embedded.url]
    server = httpx.get(embedded.url + "/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == embedded.url
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["registration_endpoint"] == embedded.url + "/register"


@pytest.mark.parametrize(
    "uri", ["http://evil.example/callback", "javascript:alert(1)", "https://client.example/cb#frag", "ftp://x.example/"]
)
def test_registration_refuses_redirect_uris_that_could_open_redirect(embedded: McpHttpServer, uri: str) -> None:
    response = register(embedded.url, [uri])
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid_redirect_uri", "invalid_client_metadata"}


def test_authorize_refuses_an_unregistered_redirect_uri_without_redirecting(embedded: McpHttpServer) -> None:
    client = register(embedded.url).json()
    _, challenge = pkce()
    params = authorize_params(client["client_id"], challenge, embedded.mcp_url, redirect_uri="https://evil.example/cb")
    response, page = open_login(embedded.url, params)
    assert page is None and response.status_code == 400
    assert "location" not in response.headers
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"resource": "https://other.example/mcp"}, "invalid_target"),
    ],
)
def test_authorize_requires_s256_pkce_and_this_resource(
    embedded: McpHttpServer, change: dict[str, Any], error: str
) -> None:
    client = register(embedded.url).json()
    _, challenge = pkce()
    params = {
        k: v
        for k, v in {**authorize_params(client["client_id"], challenge, embedded.mcp_url), **change}.items()
        if v is not None
    }
    response, page = open_login(embedded.url, params)
    assert page is None  # never reaches the login page
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI)
    assert parse_qs(urlsplit(location).query)["error"] == [error]


def exchange(
    node: McpHttpServer, client: dict[str, Any], code: str, verifier: str, redirect_uri: str = REDIRECT_URI
) -> httpx.Response:
    return httpx.post(
        node.url + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
            "code_verifier": verifier,
        },
    )


def fresh_code(node: McpHttpServer) -> tuple[dict[str, Any], str, str]:
    client = register(node.url).json()
    verifier, challenge = pkce()
    _, page = open_login(node.url, authorize_params(client["client_id"], challenge, node.mcp_url))
    assert page is not None
    return client, code_from(page.submit("alice", PASSWORDS["alice"])), verifier


def test_token_exchange_checks_the_verifier_the_redirect_uri_and_uses_a_code_once(embedded: McpHttpServer) -> None:
    client, code, verifier = fresh_code(embedded)
    assert exchange(embedded, client, code, "x" * 50).json()["error"] == "invalid_grant"
    assert exchange(embedded, client, code, verifier, "http://127.0.0.1:1/other").json()["error"] == "invalid_request"
    assert exchange(embedded, client, code, verifier).status_code == 200
    assert exchange(embedded, client, code, verifier).json()["error"] == "invalid_grant"  # single use


def test_a_reused_refresh_token_revokes_the_grant(embedded: McpHttpServer) -> None:
    client, tokens = login_and_get_tokens(embedded.url, embedded.mcp_url, "alice", PASSWORDS["alice"])
    auth = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **auth}
    rotated = httpx.post(embedded.url + "/token", data=refresh).json()
    # The replay comes a minute after the rotation: past the race window, so it is a replay, not a race.
    with sqlite3.connect(embedded.env["KLAVIYO_MCP_OAUTH_STATE_PATH"]) as db:
        db.execute("UPDATE refresh_tokens SET used_at = used_at - 60 WHERE used = 1")
    assert httpx.post(embedded.url + "/token", data=refresh).json()["error"] == "invalid_grant"  # replayed
    assert post_mcp(embedded, rotated["access_token"]).status_code == 401  # the thief's replay ended the grant
    again = {**refresh, "refresh_token": rotated["refresh_token"]}
    assert httpx.post(embedded.url + "/token", data=again).json()["error"] == "invalid_grant"


def test_concurrent_refreshes_with_one_token_keep_the_winners_tokens(embedded: McpHttpServer) -> None:
    client, tokens = login_and_get_tokens(embedded.url, embedded.mcp_url, "alice", PASSWORDS["alice"])
    auth = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **auth}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: httpx.post(embedded.url + "/token", data=refresh), range(8)))
    won = [a.json() for a in answers if a.status_code == 200]
    assert len(won) == 1 and all(a.json()["error"] == "invalid_grant" for a in answers if a.status_code != 200)
    assert post_mcp(embedded, won[0]["access_token"]).status_code == 200  # the grant was not revoked
    again = {**refresh, "refresh_token": won[0]["refresh_token"]}
    assert httpx.post(embedded.url + "/token", data=again).status_code == 200


def test_the_login_page_escapes_client_text_forbids_script_and_checks_csrf(embedded: McpHttpServer) -> None:
    client = register(embedded.url, client_name='<script>alert("x")</script>').json()
    _, challenge = pkce()
    response, page = open_login(embedded.url, authorize_params(client["client_id"], challenge, embedded.mcp_url))
    assert page is not None
    assert "<script" not in page.html and "&lt;script&gt;" in page.html
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    forged = httpx.post(
        embedded.url + "/oauth/login",
        data={
            "id": page.login_id,
            "csrf": page.csrf,
            "username": "alice",
            "password": PASSWORDS["alice"],
            "decision": "allow",
        },
    )  # a cross-site post: the right fields, but no cookie of this browser
    assert forged.status_code == 403 and "location" not in forged.headers
    page.csrf = "0" * 64
    assert page.submit("alice", PASSWORDS["alice"]).status_code == 403


def test_wrong_password_gets_no_code_and_deny_returns_access_denied(embedded: McpHttpServer) -> None:
    client = register(embedded.url).json()
    _, challenge = pkce()
    _, page = open_login(embedded.url, authorize_params(client["client_id"], challenge, embedded.mcp_url))
    assert page is not None
    wrong = page.submit("alice", "not-her-password")
    assert wrong.status_code == 401 and "location" not in wrong.headers and "Wrong user or password" in wrong.text
    assert page.submit("nobody", "whatever").status_code == 401
    denied = page.submit("alice", "", decision="deny")
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]
    assert page.submit("alice", PASSWORDS["alice"]).status_code == 400  # that login was answered


def test_logins_are_rate_limited(tmp_path: Path) -> None:
    with mcp_http_server(
        tmp_path, KLAVIYO_MCP_OAUTH_MODE="embedded", KLAVIYO_MCP_OAUTH_LOGIN_RATE_LIMIT="3/minute"
    ) as node:
        client = register(node.url).json()
        _, challenge = pkce()
        _, page = open_login(node.url, authorize_params(client["client_id"], challenge, node.mcp_url))
        assert page is not None
        statuses = [page.submit("alice", f"guess-{n}").status_code for n in range(3)]
        assert statuses == [401, 401, 401]
        limited = page.submit("alice", PASSWORDS["alice"])  # even the right password, once over the limit
        assert limited.status_code == 429 and "location" not in limited.headers
        assert "Too many sign-in attempts" in limited.text


def tool_call(node: McpHttpServer, token: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    response = httpx.post(node.mcp_url, headers=headers, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json()["result"])


def test_a_logged_in_user_reaches_only_the_accounts_granted_to_them(embedded: McpHttpServer) -> None:
    _, tokens = login_and_get_tokens(embedded.url, embedded.mcp_url, "bob", PASSWORDS["bob"])
    bob = tokens["access_token"]
    mine, other = (a.slug for a in embedded.sandbox.accounts[:2])
    listed = tool_call(embedded, bob, "klaviyo_list_accounts", {})
    assert [a["name"] for a in listed["structuredContent"]["data"]["accounts"]] == [mine]
    allowed = tool_call(
        embedded, bob, "klaviyo_get_campaign_performance", {"account": mine, "timeframe": "last_30_days"}
    )
    assert allowed.get("isError") is not True
    refused = [
        tool_call(embedded, bob, "klaviyo_get_campaign_performance", {"account": name, "timeframe": "last_30_days"})
        for name in (other, "no-such-account")
    ]
    assert all(r["isError"] is True for r in refused)
    codes = [r["structuredContent"]["error"]["code"] for r in refused]
    assert codes == ["FORBIDDEN", "FORBIDDEN"]
    # The same answer for an existing and a missing account: existence is not revealed.
    assert refused[0]["structuredContent"]["error"]["message"].replace(other, "X") == refused[1]["structuredContent"][
        "error"
    ]["message"].replace("no-such-account", "X")


def test_a_public_client_without_a_secret_completes_the_flow(embedded: McpHttpServer) -> None:
    client, tokens = login_and_get_tokens(
        embedded.url, embedded.mcp_url, "alice", PASSWORDS["alice"], token_endpoint_auth_method="none"
    )
    assert "client_secret" not in client
    assert post_mcp(embedded, tokens["access_token"]).status_code == 200
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": client["client_id"],
    }
    assert httpx.post(embedded.url + "/token", data=refresh).status_code == 200


def test_a_confidential_client_must_present_its_secret(embedded: McpHttpServer) -> None:
    client, code, verifier = fresh_code(embedded)
    wrong = {**client, "client_secret": "0" * 64}
    assert exchange(embedded, wrong, code, verifier).status_code == 401
    assert exchange(embedded, client, code, verifier).status_code == 200


def test_an_oversized_login_form_gets_413(embedded: McpHttpServer) -> None:
    response = httpx.post(embedded.url + "/oauth/login", data={"username": "a" * 2_000_000})
    assert response.status_code == 413

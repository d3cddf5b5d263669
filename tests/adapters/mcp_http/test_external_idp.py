"""External identity provider mode: JWTs checked by a JWKS served on loopback; a claim names the user."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.adapters.mcp_http.process import McpHttpServer, mcp_http_server

pytestmark = pytest.mark.slow
ISSUER = "https://idp.example.test"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "test-key-1"


class JwksHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
        body = json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def idp_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpHttpServer]:
    jwks = ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    thread = threading.Thread(target=jwks.serve_forever, daemon=True)
    thread.start()
    settings = {
        "KLAVIYO_MCP_OAUTH_MODE": "external",
        "KLAVIYO_MCP_OAUTH_ISSUER_URL": ISSUER,
        "KLAVIYO_MCP_OAUTH_JWKS_URL": f"http://127.0.0.1:{jwks.server_address[1]}/jwks.json",
        "KLAVIYO_MCP_OAUTH_USER_CLAIM": "preferred_username",
    }
    try:
        with mcp_http_server(tmp_path_factory.mktemp("external"), **settings) as node:
            yield node
    finally:
        jwks.shutdown()
        jwks.server_close()


def token(node: McpHttpServer, key: Any = KEY, **change: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": node.mcp_url,
        "sub": "idp-user-1",
        "preferred_username": "bob",
        "iat": now,
        "exp": now + 300,
    }
    return jwt.encode({**claims, **change}, key, algorithm="RS256", headers={"kid": KID})


def call(node: McpHttpServer, bearer: str, method: str = "tools/call", **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json, text/event-stream"}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(node.mcp_url, headers=headers, json=body, timeout=30)


def test_an_idp_token_runs_the_call_as_the_user_its_claim_names(idp_node: McpHttpServer) -> None:
    response = call(idp_node, token(idp_node), name="klaviyo_list_accounts", arguments={})
    assert response.status_code == 200, response.text
    accounts = response.json()["result"]["structuredContent"]["data"]["accounts"]
    assert [a["name"] for a in accounts] == [idp_node.sandbox.accounts[0].slug]  # bob's one grant
    metadata = httpx.get(idp_node.url + "/.well-known/oauth-protected-resource/mcp").json()
    assert metadata["authorization_servers"] == [ISSUER]


@pytest.mark.parametrize(
    "change",
    [
        {"exp": int(time.time()) - 300},
        {"aud": "https://other.example/mcp"},
        {"iss": "https://other-idp.example"},
        {"preferred_username": "mallory"},  # not in the users file
        {"preferred_username": None},
    ],
    ids=["expired", "wrong audience", "wrong issuer", "unknown user", "no claim"],
)
def test_idp_tokens_that_fail_a_check_get_401(idp_node: McpHttpServer, change: dict[str, Any]) -> None:
    claims = {k: v for k, v in change.items() if v is not None}
    bearer = token(idp_node, **claims) if None not in change.values() else _without_claim(idp_node)
    response = call(idp_node, bearer, method="tools/list")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def _without_claim(node: McpHttpServer) -> str:
    claims = jwt.decode(token(node), options={"verify_signature": False})
    claims.pop("preferred_username")
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": KID})


def test_idp_tokens_signed_by_another_key_or_unsigned_get_401(idp_node: McpHttpServer) -> None:
    claims = jwt.decode(token(idp_node), options={"verify_signature": False})
    for bearer in (token(idp_node, key=OTHER_KEY), jwt.encode(claims, None, algorithm="none", headers={"kid": KID})):  # type: ignore[arg-type]
        assert call(idp_node, bearer, method="tools/list").status_code == 401

"""The Streamable HTTP transport as a real process: DNS-rebinding protection, body limit, slow clients."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.adapters.mcp_http.process import ALICE_TOKEN, McpHttpServer, mcp_http_server
from tests.reliability.harness import figures

pytestmark = pytest.mark.slow
HEADERS = {"Authorization": f"Bearer {ALICE_TOKEN}", "Accept": "application/json, text/event-stream"}
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpHttpServer]:
    settings = {
        "KLAVIYO_MCP_HTTP_HEADER_TIMEOUT_SECONDS": "2",
        "KLAVIYO_MCP_HTTP_BODY_TIMEOUT_SECONDS": "2",
        "KLAVIYO_MCP_HTTP_MAX_BODY_BYTES": "65536",
    }
    with mcp_http_server(tmp_path_factory.mktemp("transport"), KLAVIYO_MCP_OAUTH_MODE="off", **settings) as server:
        yield server


def test_a_static_token_lists_tools_statelessly(node: McpHttpServer) -> None:
    # No initialize, no session id: any instance can answer any request.
    response = httpx.post(node.mcp_url, headers=HEADERS, json=LIST)
    assert response.status_code == 200
    assert "mcp-session-id" not in response.headers
    assert "klaviyo_list_accounts" in {t["name"] for t in response.json()["result"]["tools"]}


@pytest.mark.parametrize(
    ("extra", "status"),
    [({"Host": "evil.example"}, 421), ({"Origin": "http://evil.example"}, 403), ({"Origin": "null"}, 403)],
)
def test_dns_rebinding_and_foreign_origins_are_refused(node: McpHttpServer, extra: dict[str, str], status: int) -> None:
    response = httpx.post(node.mcp_url, headers={**HEADERS, **extra}, json=LIST)
    assert response.status_code == status


def test_an_oversized_body_gets_413(node: McpHttpServer) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": "x" * 70_000}}
    assert httpx.post(node.mcp_url, headers=HEADERS, json=body).status_code == 413


@pytest.mark.parametrize("body", [b"not json", b'{"jsonrpc": "2.0", "id": 7}', b'{"jsonrpc":"2.0","id":8,'])
def test_a_body_the_sdk_cannot_parse_gets_a_json_rpc_error(node: McpHttpServer, body: bytes) -> None:
    headers = {**HEADERS, "Content-Type": "application/json"}
    response = httpx.post(node.mcp_url, headers=headers, content=body)
    assert response.status_code == 400
    error = response.json()
    assert error["jsonrpc"] == "2.0" and error["error"]["code"] in (-32700, -32600, -32602)  # parse, request, params


def half_sent(node: McpHttpServer, *, headers_done: bool) -> socket.socket:
    port = int(node.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {ALICE_TOKEN}\r\n"
    if headers_done:
        head += 'Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 500\r\n\r\n{"jsonrpc"'
    sock.sendall(head.encode())
    return sock


def test_two_half_sent_requests_do_not_stall_a_third_client(node: McpHttpServer) -> None:
    stalled = [half_sent(node, headers_done=False), half_sent(node, headers_done=True)]
    try:
        started = time.monotonic()
        response = httpx.post(node.mcp_url, headers=HEADERS, json=LIST, timeout=10)
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert elapsed < 1.0, f"the third client waited {elapsed:.2f}s"
        figures("MCP HTTP: a third client beside two half-sent requests", [f"- answered in {elapsed * 1000:.0f} ms"])
    finally:
        for sock in stalled:
            sock.close()


def test_slow_clients_are_cut_off_by_the_header_and_body_timeouts(node: McpHttpServer) -> None:
    headers_slow, body_slow = half_sent(node, headers_done=False), half_sent(node, headers_done=True)
    try:
        started = time.monotonic()
        assert headers_slow.recv(1024) == b""  # closed without an answer after the header timeout
        header_cut = time.monotonic() - started
        answer = body_slow.recv(4096).decode()
        assert answer.startswith("HTTP/1.1 408"), answer
        assert 1.5 < header_cut < 5.0
        figures(
            "MCP HTTP: slow clients cut off", [f"- headers unfinished: closed after {header_cut:.2f} s (limit 2 s)"]
        )
    finally:
        headers_slow.close()
        body_slow.close()


def test_without_a_token_the_answer_is_401_with_the_challenge(node: McpHttpServer) -> None:
    response = httpx.post(node.mcp_url, headers={"Accept": HEADERS["Accept"]}, json=LIST)
    assert response.status_code == 401
    assert (
        f'resource_metadata="{node.url}/.well-known/oauth-protected-resource/mcp"'
        in response.headers["www-authenticate"]
    )
    assert httpx.get(node.url + "/.well-known/oauth-authorization-server").status_code == 404  # off: no AS


def test_a_bad_setting_stops_the_http_server_with_config_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.reliability.harness import REPO

    env = {
        "PATH": "",
        "HOME": str(tmp_path),
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(tmp_path / "none.toml"),
        "KLAVIYO_MCP_OAUTH_MODE": "sometimes",
    }
    proc = subprocess.run(
        [sys.executable, str(REPO / "server.py"), "--transport", "streamable-http", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("CONFIG_ERROR") and "KLAVIYO_MCP_OAUTH_MODE" in proc.stderr


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}', "method"),
        (
            b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"klaviyo_list_accounts",'
            b'"arguments":{"account":"acme","account":"globex"}}}',
            "account",
        ),
    ],
)
def test_duplicate_json_keys_are_refused_as_rest_refuses_them(node: McpHttpServer, body: bytes, key: str) -> None:
    headers = {**HEADERS, "Content-Type": "application/json"}
    response = httpx.post(node.mcp_url, headers=headers, content=body)
    assert response.status_code == 400
    error = response.json()
    assert error["error"]["code"] == -32600 and f"{key!r} appears twice" in error["error"]["message"]
    stranger = httpx.post(node.mcp_url, headers={**headers, "Authorization": "Bearer nope"}, content=body)
    assert stranger.status_code == 401  # the bearer check comes first: strangers' bodies are not parsed

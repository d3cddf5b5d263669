"""No secret leaves the product: distinctive fake Klaviyo keys and REST/approver tokens go in, and
every byte that comes out is searched for them.

The deployment of tests/reliability/cluster.py (gunicorn -w 2, server.py over stdio, one ledger,
the sandbox on loopback) runs at KLAVIYO_MCP_LOG_LEVEL=DEBUG: every read tool over MCP and REST, a
propose → approve → execute over both, upstream 401 and 403, bad input, REST auth failures, and
retries under injected faults. The same flows then run in this process with structlog captured.
Searched: every log file and stderr, every MCP result (text and structured), every REST body and
header, the ledger database with its WAL, every trace, every exception's message, repr, details
and traceback, and every other file the processes wrote. Each secret is looked for as itself, a
16-character piece of its middle, URL-quoted and in base64.
"""

from __future__ import annotations

import base64
import json
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import structlog

from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.logs import configure_logging
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_sandbox import FaultConfig, Sandbox, SandboxConfig
from tests.reliability.cluster import Cluster, cluster
from tests.reliability.harness import figures, first_campaign, first_list, read_calls, service_for

pytestmark = pytest.mark.slow

SECRETS = {
    "acme key": "pk_sweep_acme_3f9d1c7b5e2a4d6c8b0a",
    "globex key (accounts:read only)": "pk_sweep_globex_limited_9a8b7c6d5e4f",
    "revoked key (unknown to Klaviyo)": "pk_sweep_revoked_1a2b3c4d5e6f7a8b",
    "REST read token": "rest_sweep_token_5c4b3a2f1e0d9c8b7a",
    "approver token": "approver_sweep_token_7e6d5c4b3a291807",
    "a wrong token a client presented": "bogus_sweep_token_0f1e2d3c4b5a6978",
}
ACCOUNTS = """[acme]
api_key_env = "KLAVIYO_ACME_KEY"
conversion_metric_id = "{acme_metric}"
label = "Acme"

[globex]
api_key_env = "KLAVIYO_GLOBEX_KEY"
conversion_metric_id = "{globex_metric}"
label = "Globex"

[revoked]
api_key_env = "KLAVIYO_REVOKED_KEY"
conversion_metric_id = "{globex_metric}"
label = "Revoked"
"""


def forms(secret: str) -> list[bytes]:
    middle = secret[len(secret) // 2 - 8 : len(secret) // 2 + 8]
    return [f.encode() for f in (secret, middle, quote(secret, safe=""), base64.b64encode(secret.encode()).decode())]


class Artifacts:
    """Everything that came out, by name."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []

    def add(self, name: str, value: Any) -> None:
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, str):
            data = value.encode("utf-8", "surrogatepass")
        else:
            data = json.dumps(value, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass")
        self.items.append((name, data))

    def add_response(self, name: str, response: Any) -> Any:
        self.add(f"{name}: REST body", response.content)
        self.add(f"{name}: REST headers", dict(response.headers))
        return response

    def add_error(self, name: str, exc: BaseException) -> None:
        self.add(f"{name}: exception", [str(exc), repr(exc), "".join(traceback.format_exception(exc))])
        if isinstance(exc, KlaviyoMCPError):
            self.add(f"{name}: error body", exc.to_dict())

    def hits(self) -> list[str]:
        found = []
        for name, data in self.items:
            for label, secret in SECRETS.items():
                if any(form in data for form in forms(secret)):
                    found.append(f"{label} in {name}")
        return found

    @property
    def size(self) -> int:
        return sum(len(data) for _, data in self.items)


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    sandbox = Sandbox(SandboxConfig(time_scale=0.01))
    sandbox.add_key("acme", SECRETS["acme key"], label="acme:sweep")
    sandbox.add_key(
        "globex", SECRETS["globex key (accounts:read only)"], scopes=["accounts:read"], label="globex:sweep"
    )
    return sandbox


def write_accounts(sb: Sandbox, directory: Path) -> Path:
    metrics = {a.slug: a.conversion_metric_id for a in sb.accounts}
    path = directory / "sweep-accounts.toml"
    path.write_text(ACCOUNTS.format(acme_metric=metrics["acme"], globex_metric=metrics["globex"]))
    return path


def secret_env(sb: Sandbox, directory: Path) -> dict[str, str]:
    return {
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(write_accounts(sb, directory)),
        "KLAVIYO_ACME_KEY": SECRETS["acme key"],
        "KLAVIYO_GLOBEX_KEY": SECRETS["globex key (accounts:read only)"],
        "KLAVIYO_REVOKED_KEY": SECRETS["revoked key (unknown to Klaviyo)"],
        "KLAVIYO_MCP_REST_API_KEY": SECRETS["REST read token"],
        "KLAVIYO_MCP_APPROVER_TOKENS": SECRETS["approver token"],
        "KLAVIYO_MCP_LOG_LEVEL": "DEBUG",
    }


@pytest.fixture(scope="module")
def swept() -> Iterator[Artifacts]:
    artifacts = Artifacts()
    yield artifacts


@contextmanager
def recorded_events() -> Iterator[list[dict[str, Any]]]:
    """Each structlog event as the code built it (before redaction), while it still renders to stderr."""
    events: list[dict[str, Any]] = []
    processors = structlog.get_config()["processors"]

    def record(_: Any, __: str, event: Any) -> Any:
        events.append(dict(event))
        return event

    structlog.configure(processors=[record, *processors])
    try:
        yield events
    finally:
        structlog.configure(processors=processors)


def rest_call(node: Cluster, spec_name: str, args: dict[str, Any], token: str | None = None) -> Any:
    spec = get_tool(spec_name)
    path = spec.path
    for name in spec.path_params:
        path = path.replace(f"<{name}>", str(args[name]))
    body = {k: v for k, v in args.items() if k not in spec.path_params}
    if spec.method == "GET":
        return node.rest("GET", path, token, params=body)
    return node.rest("POST", path, token, json=body)


def test_no_secret_in_anything_the_deployed_processes_put_out(sb: Sandbox, tmp_path: Path, swept: Artifacts) -> None:
    out = swept
    with cluster(sb, tmp_path, KLAVIYO_MCP_TOOL_DEADLINE_SECONDS="10", **secret_env(sb, tmp_path)) as node:
        mcp = node.mcp
        assert mcp is not None

        def over_mcp(tool: str, **args: Any) -> dict[str, Any]:
            structured, text, _ = mcp.call(tool, **args)
            out.add(f"MCP {tool}: text", text)
            out.add(f"MCP {tool}: structured", structured)
            return structured

        flows = over_mcp("klaviyo_get_flows", account="acme")["data"]["flows"]
        # Propose → approve (a person, over REST) → execute, once over MCP and once over REST.
        first = over_mcp("klaviyo_propose_create_list", account="acme", name="Sweep list")["data"]["action_id"]
        out.add_response("approve", node.approve(first))
        over_mcp("klaviyo_execute_action", action_id=first)
        proposed = out.add_response(
            "REST propose", node.rest("POST", "/v1/actions/propose/segment", json={"account": "acme", "recipe": "vip"})
        )
        second = proposed.json()["data"]["action_id"]
        out.add_response("approve 2", node.approve(second))
        out.add_response("REST execute", node.rest("POST", f"/v1/actions/{second}/execute"))
        for name, args in read_calls(flows[0]["flow_id"], first, first_list(node.sb), first_campaign(node.sb)):
            over_mcp(name, **args)
            out.add_response(f"REST {name}", rest_call(node, name, args))
        over_mcp("klaviyo_get_action", action_id=second)
        # Upstream 403 and 401, bad input, REST auth failures.
        over_mcp("klaviyo_get_campaigns", account="globex")
        over_mcp("klaviyo_get_flows", account="revoked")
        over_mcp("klaviyo_propose_create_list", account="revoked", name="Never")
        over_mcp("klaviyo_get_campaigns", account="acme", no_such_field=SECRETS["acme key"][:4])
        out.add_response("REST 401 upstream", rest_call(node, "klaviyo_get_flows", {"account": "revoked"}))
        out.add_response("REST 403 upstream", rest_call(node, "klaviyo_get_campaigns", {"account": "globex"}))
        out.add_response("REST bad body", node.rest("POST", "/v1/campaigns/performance", content=b"{not json"))
        out.add_response("REST no token", node.rest("GET", "/v1/flows", headers={"Authorization": ""}))
        out.add_response("REST wrong token", node.rest("GET", "/v1/flows", SECRETS["a wrong token a client presented"]))
        out.add_response("REST X-API-Key wrong", node.rest("GET", "/v1/flows", headers={
            "Authorization": "", "X-API-Key": SECRETS["a wrong token a client presented"]}))  # fmt: skip
        out.add_response("REST reader approves", node.rest("POST", f"/v1/actions/{first}/approve"))
        out.add_response("REST health", node.rest("GET", "/health"))
        out.add_response("REST openapi", node.rest("GET", "/openapi.json"))
        # Retries and failures under injected faults.
        sb.set_faults(FaultConfig(error_rate=0.3, drop=0.2, malformed=0.2, seed=5))
        try:
            for name in ("klaviyo_get_flows", "klaviyo_get_list_health", "klaviyo_get_campaigns"):
                over_mcp(name, account="acme")
                out.add_response(f"REST {name} under faults", rest_call(node, name, {"account": "acme"}))
        finally:
            sb.set_faults(None)
        for action_id in (first, second):
            out.add(f"ledger trace {action_id}", [t.to_dict() for t in node.ledger().get_trace(action_id)])
            out.add(f"ledger history {action_id}", node.ledger().get_history(action_id).to_dict())
        used = {entry["key"] for entry in sb.log()}
        control = json.dumps(node.env).encode()
        ledger = Path(node.env["KLAVIYO_MCP_LEDGER_PATH"])
        live = [ledger.with_name(ledger.name + suffix) for suffix in ("", "-wal", "-shm")]
        for path in live:  # while the processes run (a WAL is deleted when its last connection closes)
            if path.exists():
                out.add(f"live {path.name}", path.read_bytes())
    # The processes are gone: their logs are complete. Every file they wrote, ledger and WAL too.
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and path.name != "sweep-accounts.toml":
            out.add(f"file {path.relative_to(tmp_path)}", path.read_bytes())
    assert {"acme:sweep", "globex:sweep"} <= used  # the product really called Klaviyo with the sweep keys
    configured = [secret for label, secret in SECRETS.items() if "wrong" not in label]
    assert all(any(form in control for form in forms(secret)) for secret in configured)  # the search finds them
    hits = out.hits()
    assert hits == [], hits


def test_no_secret_in_logs_errors_or_traces_in_process(
    sb: Sandbox, tmp_path: Path, swept: Artifacts, capfd: pytest.CaptureFixture[str]
) -> None:
    from tests.reliability.harness import settings_for

    out = swept
    configure_logging("DEBUG")
    env = {k: v for k, v in secret_env(sb, tmp_path).items() if k != "KLAVIYO_MCP_LOG_LEVEL"}
    settings = settings_for(sb, tmp_path, **env)
    service: KlaviyoService = service_for(settings, sb)

    def call(tool: str, **args: Any) -> None:
        try:
            out.add(
                f"in-process {tool}", run_tool(get_tool(tool), service, args, CallContext(Deadline(20), caller="sweep"))
            )
        except Exception as exc:  # every error is swept: message, repr, details, traceback
            out.add_error(f"in-process {tool}", exc)

    with recorded_events() as events:
        flows = run_tool(get_tool("klaviyo_get_flows"), service, {"account": "acme"}, CallContext(Deadline(20)))
        for name, args in read_calls(
            flows["data"]["flows"][0]["flow_id"], list_id=first_list(sb), campaign_id=first_campaign(sb)
        ):
            call(name, **args)
        call("klaviyo_get_campaigns", account="globex")
        call("klaviyo_get_flows", account="revoked")
        call("klaviyo_get_flows", account="nobody")
        call("klaviyo_query_metric_aggregates", account="acme", metric="x", by=["nope"])
        sb.set_faults(FaultConfig(error_rate=0.3, drop=0.3, malformed=0.2, seed=9))
        try:
            for name in ("klaviyo_get_flows", "klaviyo_get_segments", "klaviyo_get_campaigns"):
                call(name, account="acme")
        finally:
            sb.set_faults(None)
    # structlog's events as handlers built them (before the redaction processor), and what reached stderr.
    out.add("in-process structlog events", events)
    captured = capfd.readouterr()
    out.add("in-process stderr", captured.err)
    out.add("in-process stdout", captured.out)
    assert events and captured.err  # logs were produced and captured
    hits = out.hits()
    assert hits == [], hits
    figures(
        "Secrets sweep",
        [
            f"{len(SECRETS)} distinctive secrets (3 Klaviyo keys: full, accounts:read only, unknown to Klaviyo; REST "
            "read token, approver token, a wrong token a client sent), each searched as itself, a 16-character "
            "middle piece, URL-quoted and base64.",
            "",
            "| searched | count |",
            "|---|---|",
            f"| artifacts (log files, stderr, MCP results, REST bodies and headers, ledger + WAL, traces, "
            f"exceptions, structlog events) | {len(out.items)} |",
            f"| bytes | {out.size:,} |",
            f"| hits | {len(hits)} |",
        ],
    )


def test_no_secret_in_what_the_mcp_http_server_and_its_oauth_state_put_out(tmp_path: Path) -> None:
    """The MCP HTTP server at DEBUG through a whole OAuth flow, failed logins and refused tokens: its
    stderr and every file it wrote (the OAuth state with its WAL) hold none of the secrets involved."""
    import httpx

    from tests.adapters.mcp_http.oauth_client import (
        REDIRECT_URI,
        authorize_params,
        code_from,
        open_login,
        pkce,
        register,
    )
    from tests.adapters.mcp_http.process import ALICE_TOKEN, PASSWORDS, mcp_http_server

    wrong_password = "wrong_sweep_password_4e5f6a7b8c"
    with mcp_http_server(
        tmp_path,
        KLAVIYO_MCP_OAUTH_MODE="embedded",
        KLAVIYO_MCP_OAUTH_LOGIN_RATE_LIMIT="1000/minute",
        KLAVIYO_MCP_REGISTRATION_RATE_LIMIT="1000/minute",
    ) as node:
        client = register(node.url).json()
        verifier, challenge = pkce()
        _, page = open_login(node.url, authorize_params(client["client_id"], challenge, node.mcp_url))
        assert page is not None
        assert page.submit("alice", wrong_password).status_code == 401
        code = code_from(page.submit("alice", PASSWORDS["alice"]))
        page.client.close()
        auth = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
        tokens = httpx.post(
            node.url + "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
                **auth,
            },
        ).json()
        refreshed = httpx.post(
            node.url + "/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **auth}
        ).json()
        headers = {"Accept": "application/json, text/event-stream"}
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "klaviyo_list_accounts", "arguments": {}},
        }
        for bearer, status in (
            (refreshed["access_token"], 200),
            (ALICE_TOKEN, 200),
            (SECRETS["a wrong token a client presented"], 401),
        ):
            answer = httpx.post(node.mcp_url, headers={**headers, "Authorization": f"Bearer {bearer}"}, json=call)
            assert answer.status_code == status
        httpx.post(node.url + "/revoke", data={"token": refreshed["refresh_token"], **auth})
        key_file = Path(node.env["KLAVIYO_MCP_OAUTH_STATE_PATH"]).parent / "oauth-signing-key.pem"
        key_pem = key_file.read_text()
        sandbox_keys = {f"{a.slug} Klaviyo key": a.api_key for a in node.sandbox.accounts}
    secrets = {
        "alice's password": PASSWORDS["alice"],
        "a wrong password": wrong_password,
        "client secret": client["client_secret"],
        "authorization code": code,
        "PKCE verifier": verifier,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "rotated access token": refreshed["access_token"],
        "rotated refresh token": refreshed["refresh_token"],
        "static token": ALICE_TOKEN,
        "a wrong token": SECRETS["a wrong token a client presented"],
        "signing key": "".join(key_pem.splitlines()[1:-1]),
        **sandbox_keys,
    }
    outputs = {
        path: path.read_bytes()
        for path in tmp_path.rglob("*")
        if path.is_file()
        and path != key_file
        and path.name != "users.toml"  # the key file is the key; users.toml holds hashes
    }
    assert any(p.name.startswith("oauth.sqlite3") for p in outputs) and any(p.suffix == ".stderr" for p in outputs)
    assert b"oauth.login_granted" in b"".join(v for p, v in outputs.items() if p.suffix == ".stderr")
    found = [
        f"{label} in {path.name}"
        for label, secret in secrets.items()
        for path, data in outputs.items()
        if any(form in data for form in forms(secret))
    ]
    assert found == []

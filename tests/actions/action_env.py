"""A product wired to the Klaviyo sandbox, for the action tests: settings, service, ledger, helpers.

The sandbox is shared by a test session and reset before each test (building one takes ~0.3 s).
Rate windows are scaled down 100× on both sides, so pacing never slows a test.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from klaviyo_analytics.actions import SqliteLedger, utc_now
from klaviyo_analytics.actions.approvals import decide
from klaviyo_analytics.actions.backends import open_ledger
from klaviyo_analytics.actions.models import plan_hash
from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_sandbox import Sandbox
from tests.helpers import write_accounts
from tests.klaviyo_sandbox.conftest import SPEC_PATH, SpecChecker, ValidatingTransport

TIME_SCALE = "0.01"
REST_TOKEN = "rest-read-token-0001"
APPROVER_TOKEN = "approver-token-0001"


@functools.cache
def spec_checker() -> SpecChecker | None:
    """Klaviyo's OpenAPI spec (the shipped subset, tests/klaviyo_openapi/)."""
    return SpecChecker(json.loads(SPEC_PATH.read_text(encoding="utf-8"))) if SPEC_PATH.exists() else None


class ShiftedClock:
    """Real time plus an offset the test moves (proposal expiry, lease expiry)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset


def environment(sb: Sandbox, tmp: Path, **extra: str) -> dict[str, str]:
    """The product's environment on the sandbox; ``KLAVIYO_MCP_LEDGER_URL`` in ``extra`` replaces the SQLite file."""
    acme = next(a for a in sb.accounts if a.slug == "acme")
    accounts = {
        "acme": {"api_key_env": acme.key_env, "conversion_metric_id": acme.conversion_metric_id, "label": "Acme"}
    }
    return {
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(write_accounts(tmp / "accounts.toml", accounts)),
        acme.key_env: acme.api_key,
        **({} if "KLAVIYO_MCP_LEDGER_URL" in extra else {"KLAVIYO_MCP_LEDGER_PATH": str(tmp / "ledger.sqlite3")}),
        "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": TIME_SCALE,
        "KLAVIYO_MAX_RETRIES": "2",
        "KLAVIYO_MCP_REST_API_KEY": REST_TOKEN,
        "KLAVIYO_MCP_APPROVER_TOKENS": APPROVER_TOKEN,
        **extra,
    }


@dataclass
class Env:
    sb: Sandbox
    tmp: Path
    settings: Settings
    # Settings beyond ``environment``'s, that worker processes get too (the ledger backend).
    extra: dict[str, str] = field(default_factory=dict)
    clock: ShiftedClock = field(default_factory=ShiftedClock)
    service: KlaviyoService = field(init=False)

    def __post_init__(self) -> None:
        self.service = self.make_service()

    def make_service(
        self, settings: Settings | None = None, wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport] | None = None
    ) -> KlaviyoService:
        settings = settings or self.settings
        ledger = open_ledger(settings, self.clock)  # the product's choice of backend, on our clock
        # Every request the product sends (and every answer) is held to Klaviyo's OpenAPI spec.
        transport: httpx.BaseTransport = ValidatingTransport(self.sb.transport, spec_checker())
        client = KlaviyoClient(settings, transport=wrap(transport) if wrap else transport)
        return KlaviyoService(settings, load_registry(settings), client, ledger=ledger)

    @property
    def ledger(self) -> SqliteLedger:
        return self.service.ledger  # type: ignore[return-value]

    def call(self, tool: str, caller: str = "mcp", **args: Any) -> dict[str, Any]:
        ctx = CallContext(deadline=Deadline(self.settings.tool_deadline_seconds), caller=caller)
        return run_tool(get_tool(tool), self.service, args, ctx)

    def error(self, tool: str, **args: Any) -> KlaviyoMCPError:
        try:
            self.call(tool, **args)
        except KlaviyoMCPError as exc:
            return exc
        raise AssertionError(f"{tool} did not fail")

    def propose(self, action: str, **args: Any) -> str:
        return str(self.call(f"klaviyo_propose_{action}", **args)["data"]["action_id"])

    def approve(self, action_id: str, who: str = "approver:alice", acknowledge: list[str] | None = None) -> None:
        shown = plan_hash(self.ledger.get_proposal(action_id).plan)  # what a reviewer would have been shown
        decide(self.ledger, action_id, True, who, "reviewed", acknowledge, plan_hash=shown)

    def run(self, action: str, acknowledge: list[str] | None = None, **args: Any) -> dict[str, Any]:
        """Propose, approve (accepting ``acknowledge``) and execute; the execute answer."""
        action_id = self.propose(action, **args)
        self.approve(action_id, acknowledge=acknowledge)
        return self.call("klaviyo_execute_action", action_id=action_id)

    def get(self, path: str, **params: str) -> Any:
        """What the sandbox answers a plain GET (not through the product's client)."""
        acme = next(a for a in self.sb.accounts if a.slug == "acme")
        headers = {"authorization": f"Klaviyo-API-Key {acme.api_key}", "revision": self.settings.klaviyo_revision}
        with httpx.Client(transport=self.sb.transport, base_url="https://a.klaviyo.com") as client:
            response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def post_as_someone_else(self, path: str, body: Any) -> str:
        """A person (or another tool) creates an object in the acme account directly; its id."""
        acme = next(a for a in self.sb.accounts if a.slug == "acme")
        headers = {"authorization": f"Klaviyo-API-Key {acme.api_key}", "revision": self.settings.klaviyo_revision}
        with httpx.Client(transport=self.sb.transport, base_url="https://a.klaviyo.com", headers=headers) as other:
            response = other.post(path, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    def created(self) -> dict[str, list[dict[str, Any]]]:
        """What clients changed in the acme account, per kind, non-empty kinds only."""
        kinds = self.sb.state()["accounts"]["acme"]
        return {kind: items for kind, items in kinds.items() if items}

    def writes(self) -> list[dict[str, Any]]:
        return [e for e in self.sb.log() if e["method"] != "GET"]


def ledger_bytes(path: Path) -> bytes:
    """The database file and its WAL, as stored on disk."""
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def settings_for(sb: Sandbox, tmp: Path, **extra: str) -> Settings:
    return load_settings(environment(sb, tmp, **extra), use_dotenv=False)

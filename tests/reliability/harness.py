"""Shared by the reliability tests: the product wired to a sandbox served on loopback, the read
calls of the whole catalog, payload comparison, and the figures each test reports.

Rate windows are scaled 100x down on both sides (sandbox ``time_scale``, product
``KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE``), so real pacing runs without slowing the suite.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.service import KlaviyoService
from klaviyo_sandbox import Sandbox, SandboxConfig, accounts_toml
from tests.product.test_tools_on_sandbox import EXTRA_CALLS, READ_CALLS

TIME_SCALE = 0.01
SEED = 11
# The data ends here, and the product's "today" is this day: two sandboxes agree to the byte.
ANCHOR = date(2026, 3, 1)
REPO = Path(__file__).resolve().parents[2]
FIGURES_ENV = "RELIABILITY_FIGURES"


def make_sandbox(**config: Any) -> Sandbox:
    return Sandbox(SandboxConfig(seed=SEED, time_scale=TIME_SCALE, anchor=ANCHOR, **config))


def environment(sb: Sandbox, directory: Path, base_url: str | None = None, **extra: str) -> dict[str, str]:
    """The settings a process of the product needs to reach ``sb`` (at ``base_url`` if served).

    The ledger is a SQLite file in ``directory`` unless ``extra`` names a ``KLAVIYO_MCP_LEDGER_URL``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "accounts.toml").write_text(accounts_toml(sb.accounts))
    env = {
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(directory / "accounts.toml"),
        **({} if "KLAVIYO_MCP_LEDGER_URL" in extra else {"KLAVIYO_MCP_LEDGER_PATH": str(directory / "ledger.sqlite3")}),
        "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": str(TIME_SCALE),
        "KLAVIYO_MCP_REST_API_KEY": "rest-token-reliability-0001",
        **{a.key_env: a.api_key for a in sb.accounts},
        **extra,
    }
    if base_url is not None:
        env["KLAVIYO_BASE_URL"] = base_url
    return env


def machine(directory: Path) -> dict[str, str]:
    """A process's own home, config and data dirs under ``directory`` (another machine's, in effect),
    with this checkout importable."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(directory / "home"),
        "XDG_CONFIG_HOME": str(directory / "home" / "config"),
        "XDG_DATA_HOME": str(directory / "home" / "data"),
        "PYTHONPATH": str(REPO),
    }


def settings_for(sb: Sandbox, directory: Path, base_url: str | None = None, **extra: str) -> Settings:
    return load_settings(environment(sb, directory, base_url, **extra), use_dotenv=False)


def service_for(settings: Settings, sb: Sandbox | None = None) -> KlaviyoService:
    """Over real sockets to ``settings.klaviyo_base_url``, or in-process to ``sb``'s transport."""
    client = KlaviyoClient(settings, transport=sb.transport if sb is not None else None)
    return KlaviyoService(settings, load_registry(settings), client, clock=pinned_on(ANCHOR))


def first_list(sb: Sandbox, slug: str = "acme") -> str:
    """A list of the account, for the tools that read one (predictive analytics)."""
    return next(iter(sb.store.accounts[slug].lists))


def first_campaign(sb: Sandbox, slug: str = "acme") -> str:
    """The latest sent email campaign, for the tools that read one message (A/B results, link clicks)."""
    sent = [c for c in sb.store.accounts[slug].campaigns.values() if c.status == "Sent" and c.channel == "email"]
    return max(sent, key=lambda c: (c.send_time or c.created_at, c.id)).id


def read_calls(
    flow_id: str, action_id: str | None = None, list_id: str = "", campaign_id: str = ""
) -> list[tuple[str, dict[str, Any]]]:
    """Arguments for every read tool of the catalog (tests/product's set), plus the extra variants."""
    calls = [(name, dict(args)) for name, args in READ_CALLS.items()]
    for name, args in calls:
        if name in ("klaviyo_get_ab_results", "klaviyo_get_link_clicks") and campaign_id:
            args["campaign"] = campaign_id
        if name == "klaviyo_get_flow_structure":
            args["flow_id"] = flow_id
        if name == "klaviyo_get_predictive_analytics" and list_id:
            args["list_id"] = list_id
    if action_id is not None:
        calls.append(("klaviyo_get_action", {"action_id": action_id}))
    return calls + [(name, dict(args)) for name, args in EXTRA_CALLS]


def comparable(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The payload without what differs between two correct runs (latency, the report budget left)."""
    out = json.loads(json.dumps(envelope))
    out.get("metadata", {}).pop("latency_ms", None)
    out.get("metadata", {}).pop("quota", None)
    return dict(out)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def figures(title: str, lines: list[str]) -> None:
    """A test's figures: printed (pytest -s shows them) and appended to $RELIABILITY_FIGURES if set."""
    text = "\n".join([f"### {title}", "", *lines, ""])
    print(text)
    target = os.environ.get(FIGURES_ENV)
    if target:
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(text + "\n")

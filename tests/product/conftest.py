"""The product wired to the Klaviyo sandbox: service, REST app and MCP server over one in-process sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.service import KlaviyoService
from klaviyo_sandbox import Sandbox, SandboxConfig, accounts_toml

REST_TOKEN = "rest-token-product-tests-01"
# Windows shrunk 100x on both sides: real pacing, quick tests.
TIME_SCALE = 0.01
# The product and the sandbox share one clock pinned here: the suite answers the same on every day
# (test_date_sweep.py moves it across the calendar's edges).
TODAY = date(2026, 12, 7)


def sandbox_settings(sandbox: Sandbox, directory: Path, **env: str) -> Settings:
    (directory / "accounts.toml").write_text(accounts_toml(sandbox.accounts))
    environ = {
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(directory / "accounts.toml"),
        "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": str(TIME_SCALE),
        "KLAVIYO_MCP_LEDGER_PATH": str(directory / "ledger.sqlite3"),
        "KLAVIYO_MCP_REST_API_KEY": REST_TOKEN,
        **{a.key_env: a.api_key for a in sandbox.accounts},
        **env,
    }
    return load_settings(environ, use_dotenv=False)


def sandbox_service(
    sandbox: Sandbox, directory: Path, transport: httpx.BaseTransport | None = None, **env: str
) -> KlaviyoService:
    settings = sandbox_settings(sandbox, directory, **env)
    client = KlaviyoClient(settings, transport=transport or sandbox.transport, clock=sandbox.clock)
    return KlaviyoService(settings, load_registry(settings), client, clock=sandbox.clock)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    yield Sandbox(SandboxConfig(seed=11, time_scale=TIME_SCALE, clock=pinned_on(TODAY)))


@pytest.fixture
def service(sandbox: Sandbox, tmp_path: Path) -> KlaviyoService:
    return sandbox_service(sandbox, tmp_path)

"""Fixtures for install.py, live_smoke.py and .mcp.json: a time-scaled sandbox and a runner
that fails any test whose output shows an API key."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import install
from klaviyo_sandbox import Sandbox, SandboxConfig

# Windows shrunk 100x on both sides (sandbox and the product's pacer): real pacing, quick tests.
TIME_SCALE = 0.01
RESTRICTED_KEY = "pk_restricted_globex_for_tests"
REPO = Path(__file__).resolve().parents[2]


def accounts_toml(sandbox: Sandbox, **overrides: str) -> str:
    """The sandbox's accounts, with comments that an edit must keep; overrides replace a conversion metric id."""
    blocks = ["# written by the install tests: this comment must survive every edit\n"]
    for a in sandbox.accounts:
        metric = overrides.get(a.slug, a.conversion_metric_id)
        blocks.append(
            f'[{a.slug}]\napi_key_env = "{a.key_env}"  # the key lives in .env\n'
            f'conversion_metric_id = "{metric}"\nlabel = "{a.label}"\n\n'
        )
    return "".join(blocks)


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def sandbox() -> Sandbox:
    sb = Sandbox(SandboxConfig(time_scale=TIME_SCALE))
    sb.add_key("globex", RESTRICTED_KEY, scopes=["accounts:read", "campaigns:read", "metrics:read"])
    return sb


@pytest.fixture
def secrets(sandbox: Sandbox) -> list[str]:
    return [a.api_key for a in sandbox.accounts] + [RESTRICTED_KEY]


@pytest.fixture
def environ(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    """What install.py sees as the real environment: the keys, a time scale, nothing of this machine's."""
    return {
        "KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE": str(TIME_SCALE),
        "KLAVIYO_MCP_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),
        **{a.key_env: a.api_key for a in sandbox.accounts},
    }


@pytest.fixture
def run_install(
    capsys: pytest.CaptureFixture[str], secrets: list[str], sandbox: Sandbox
) -> Iterator[Callable[..., Run]]:
    def run(
        *argv: str,
        environ: Mapping[str, str],
        transport: httpx.BaseTransport | str | None = "sandbox",
    ) -> Run:
        chosen = sandbox.transport if transport == "sandbox" else transport
        assert not isinstance(chosen, str)
        code = install.main(list(argv), environ=environ, transport=chosen)
        captured = capsys.readouterr()
        for secret in secrets:
            assert secret not in captured.out + captured.err, "install.py printed an API key"
        return Run(code, captured.out, captured.err)

    yield run

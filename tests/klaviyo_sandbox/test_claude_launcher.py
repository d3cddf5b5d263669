"""The launcher behind `install.py --sandbox`: the configuration it writes is one the product reads like any
other, labelled synthetic, and nothing of the caller's environment reaches the server it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from klaviyo_analytics.config import load_settings
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_sandbox import Sandbox, SandboxConfig
from klaviyo_sandbox.claude import SYNTHETIC, main, server_environment, write_config


def test_the_written_configuration_loads_as_the_server_loads_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    sandbox = Sandbox(SandboxConfig(time_scale=0.02))
    write_config(state, sandbox, "http://127.0.0.1:9", 0.02)
    assert (state / ".env").stat().st_mode & 0o777 == 0o600
    settings = load_settings({}, config_dir=state)
    assert settings.klaviyo_base_url == "http://127.0.0.1:9" and settings.rate_limit_time_scale == 0.02
    assert settings.ledger_path == state / "ledger.sqlite3"
    registry = load_registry(settings)
    assert registry.names == ["acme", "globex"]
    assert all(a.label.endswith(f"({SYNTHETIC})") for a in registry.accounts.values())


def test_the_server_gets_only_its_config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KLAVIYO_ACME_KEY", "pk_a_real_key_of_the_user")
    monkeypatch.setenv("KLAVIYO_BASE_URL", "https://a.klaviyo.com")
    env = server_environment(tmp_path)
    assert env["KLAVIYO_MCP_CONFIG_DIR"] == str(tmp_path)
    assert "KLAVIYO_ACME_KEY" not in env and "KLAVIYO_BASE_URL" not in env


def test_a_time_scale_outside_0_to_1_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--time-scale", "2"]) == 2
    assert "--time-scale must be above 0" in capsys.readouterr().err

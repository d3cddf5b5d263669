"""Fixtures of the reliability tests: the whole product on a sandbox (``env``, as in tests/actions)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.actions.action_env import Env, settings_for


@pytest.fixture(scope="session")
def shared_sandbox() -> Sandbox:
    # Real time (no anchor): the executor compares Klaviyo's created timestamps with its own clock.
    return Sandbox(SandboxConfig(time_scale=0.01))


@pytest.fixture
def sb(shared_sandbox: Sandbox) -> Iterator[Sandbox]:
    shared_sandbox.reset()
    shared_sandbox.set_faults(None)
    yield shared_sandbox
    shared_sandbox.set_faults(None)


@pytest.fixture
def env(sb: Sandbox, tmp_path: Path) -> Env:
    return Env(sb, tmp_path, settings_for(sb, tmp_path))

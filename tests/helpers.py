"""Test doubles shared by the product's tests: a fake clock and a scripted Klaviyo transport."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from klaviyo_analytics.config import Settings, load_settings

ACME_KEY = "pk_test_acme_0123456789"
GLOBEX_KEY = "pk_test_globex_9876543210"


class FakeClock:
    """A monotonic clock whose sleep advances it, so pacing and retries run instantly."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)


def write_accounts(path: Path, accounts: dict[str, dict[str, str]]) -> Path:
    lines = []
    for slug, entry in accounts.items():
        lines.append(f"[{slug}]")
        lines.extend(f'{key} = "{value}"' for key, value in entry.items())
    path.write_text("\n".join(lines) + "\n")
    return path


ONE_ACCOUNT = {"acme": {"api_key_env": "KLAVIYO_ACME_KEY", "conversion_metric_id": "PLACED", "label": "Acme"}}
TWO_ACCOUNTS = {
    **ONE_ACCOUNT,
    "globex": {"api_key_env": "KLAVIYO_GLOBEX_KEY", "conversion_metric_id": "GLXORD", "label": "Globex"},
}


def make_settings(tmp_path: Path, accounts: dict[str, dict[str, str]] | None = None, **env: str) -> Settings:
    accounts_file = write_accounts(tmp_path / "accounts.toml", accounts or ONE_ACCOUNT)
    environ = {
        "KLAVIYO_MCP_ACCOUNTS_FILE": str(accounts_file),
        "KLAVIYO_ACME_KEY": ACME_KEY,
        "KLAVIYO_GLOBEX_KEY": GLOBEX_KEY,
        "KLAVIYO_MCP_LEDGER_PATH": str(tmp_path / "ledger.sqlite3"),
        **env,
    }
    return load_settings(environ, use_dotenv=False)


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeKlaviyo:
    """A scripted Klaviyo: routes (METHOD, path) to handlers and records every request."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def route(self, method: str, path: str, handler: Handler | dict[str, Any]) -> None:
        if isinstance(handler, dict):
            document = handler
            self.routes[(method, path)] = lambda _request: jsonapi(document)
        else:
            self.routes[(method, path)] = handler

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return jsonapi({"errors": [{"code": "not_found", "detail": "no route"}]}, status=404)
        return handler(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def bodies(self, path: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path and r.content]


def jsonapi(document: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(document).encode(),
        headers={"content-type": "application/vnd.api+json", **(headers or {})},
    )


def shown_plan_hash(ledger: Any, action_id: str) -> str:
    """The plan_hash a reviewer is shown for ``action_id`` (ActionView.plan_hash): approving names it."""
    from klaviyo_analytics.actions.models import plan_hash

    return plan_hash(ledger.get_proposal(action_id).plan)


@contextmanager
def untraced(config: pytest.Config) -> Iterator[None]:
    """Coverage's tracer paused for a block (pytest-cov's controller; nothing when not under --cov).

    For fixtures that rebuild what other tests already measure, where the tracer only multiplies the
    cost: on Python 3.11 it runs on every line of every frame (4-6x on the sandbox's generation loops).
    """
    plugin = config.pluginmanager.getplugin("_cov") if config.pluginmanager.hasplugin("_cov") else None
    controller = getattr(plugin, "cov_controller", None)
    if controller is None or not controller.started:
        yield
        return
    controller.pause()
    try:
        yield
    finally:
        controller.resume()

"""An account without conversion_metric_id in accounts.toml: the service uses its "Placed Order" metric,
answers exactly as with the id recorded, and says in the warnings to record it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, KlaviyoService, metrics
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_sandbox import Sandbox
from tests.product.conftest import sandbox_service, sandbox_settings


def without_metric_ids(sandbox: Sandbox, directory: Path) -> KlaviyoService:
    settings = sandbox_settings(sandbox, directory, KLAVIYO_MCP_QUOTA_STORE="memory://")
    accounts = Path(settings.accounts_file or "")
    accounts.write_text(re.sub(r'conversion_metric_id = "\w+"\n', "", accounts.read_text()))
    client = KlaviyoClient(settings, transport=sandbox.transport, clock=sandbox.clock)
    return KlaviyoService(settings, load_registry(settings), client, clock=sandbox.clock)


def ask(service: KlaviyoService, tool: str, **arguments: object) -> dict[str, object]:
    return run_tool(get_tool(tool), service, {"account": "acme", **arguments}, CallContext(deadline=Deadline(30)))


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("klaviyo_get_campaign_performance", {"timeframe": "last_30_days"}),
        ("klaviyo_get_performance_over_time", {"entity": "flow", "timeframe": "last_30_days", "interval": "weekly"}),
    ],
)
def test_the_placed_order_metric_stands_in_and_the_answer_says_to_record_it(
    sandbox: Sandbox, tmp_path: Path, tool: str, arguments: dict[str, object]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    unset = without_metric_ids(sandbox, tmp_path / "a")
    assert unset.registry.accounts["acme"].conversion_metric_id is None
    recorded = sandbox_service(sandbox, tmp_path / "b", KLAVIYO_MCP_QUOTA_STORE="memory://")
    placed_order = recorded.registry.accounts["acme"].conversion_metric_id
    guessed, direct = ask(unset, tool, **arguments), ask(recorded, tool, **arguments)
    assert guessed["data"] == direct["data"]
    warning = next(w for w in guessed["warnings"] if "conversion_metric_id is not set" in w)  # type: ignore[union-attr]
    assert f'conversion_metric_id = "{placed_order}"' in warning and str(unset.registry.source) in warning
    assert not any("conversion_metric_id" in w for w in direct["warnings"])  # type: ignore[union-attr]


def test_no_placed_order_metric_is_a_config_error_naming_the_file(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = without_metric_ids(sandbox, tmp_path)
    # An account whose metrics include no "Placed Order" (a store that never sent an order).
    monkeypatch.setattr(metrics, "find_metrics", lambda *args, **kwargs: {})
    with pytest.raises(ConfigError) as caught:
        metrics.conversion_metric_id(service, service.registry.accounts["acme"], CallContext(deadline=Deadline(10)))
    assert str(service.registry.source) in caught.value.message and "install.py --check-api" in caught.value.message

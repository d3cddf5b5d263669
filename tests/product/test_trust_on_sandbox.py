"""Numbers a marketer can trust, on the sandbox: money says its currency, the portfolio never adds
two currencies, a wrong id is NOT_FOUND before any report is spent, a marketer's word is accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.errors import NotFoundError, RateLimitedError
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.product.conftest import TODAY, sandbox_service, sandbox_settings


def ask(service: KlaviyoService, name: str, deadline: float = 45, **arguments: Any) -> dict[str, Any]:
    return run_tool(get_tool(name), service, arguments, CallContext(Deadline(deadline)))


def test_every_money_answer_states_the_accounts_currency(service: KlaviyoService) -> None:
    week = {"timeframe": "last_30_days"}
    for account, code, symbol in (("acme", "USD", "$"), ("globex", "GBP", "£")):
        for tool, extra in (
            ("klaviyo_get_flow_performance", week),
            ("klaviyo_get_campaign_performance", week),
            ("klaviyo_compare_periods", {**week, "entity": "flow"}),
            ("klaviyo_get_revenue_split", week),
            ("klaviyo_rank_performance", {**week, "entity": "flow"}),
            ("klaviyo_find_anomalies", {}),
        ):
            assert ask(service, tool, account=account, **extra)["metadata"]["currency"] == code, (tool, account)
        digest = ask(service, "klaviyo_get_weekly_digest", account=account)
        text = "\n".join(digest["data"]["lines"])
        assert digest["metadata"]["currency"] == code and f"Revenue ({code})" in text and f"Revenue {symbol}" in text
        other = {"$": "£", "£": "$"}[symbol]
        assert other not in text, (account, text)  # the GBP digest never prints a dollar, nor USD a pound


def test_the_currency_is_read_from_klaviyo_once_when_accounts_toml_has_none(sandbox: Sandbox, tmp_path: Path) -> None:
    service = sandbox_service(sandbox, tmp_path)
    toml = tmp_path / "accounts.toml"  # as written before install.py --check-api records the currency
    toml.write_text("\n".join(line for line in toml.read_text().splitlines() if not line.startswith("currency")))
    service.registry = load_registry(service.settings)
    assert service.account("globex").currency is None
    for timeframe in ("last_7_days", "last_30_days"):
        data = ask(service, "klaviyo_get_flow_performance", account="globex", timeframe=timeframe)
        assert data["metadata"]["currency"] == "GBP"
    lookups = [e for e in sandbox.log() if e["path"] == "/api/accounts"]
    assert len(lookups) == 1  # cached: the account's currency is asked once, not per answer


def test_the_portfolio_never_adds_two_currencies(sandbox: Sandbox, tmp_path: Path) -> None:
    for name in ("plain", "rated"):
        (tmp_path / name).mkdir()
    plain = sandbox_service(sandbox, tmp_path / "plain")
    answer = ask(plain, "klaviyo_get_portfolio")
    rows = {row["account"]: row for row in answer["data"]["accounts"]}
    assert {a: r["currency"] for a, r in rows.items()} == {"acme": "USD", "globex": "GBP"}
    totals = {t["currency"]: t for t in answer["data"]["totals"]}
    assert [t["currency"] for t in answer["data"]["totals"]] == ["GBP", "USD"]  # each alone, no mixed sum
    assert all(t["converted_with"] is None for t in totals.values())
    assert totals["GBP"]["revenue"] == rows["globex"]["revenue"] and totals["GBP"]["accounts"] == ["globex"]
    assert any("never added together" in w for w in answer["warnings"])

    # The same client (its pacer and cached reports), with the user's rates configured.
    settings = sandbox_settings(sandbox, tmp_path / "rated", KLAVIYO_MCP_CURRENCY_RATES="GBP:USD=1.25")
    rated = KlaviyoService(settings, load_registry(settings), plain.client, clock=sandbox.clock)
    again = ask(rated, "klaviyo_get_portfolio")
    *per_currency, converted = again["data"]["totals"]
    assert per_currency == answer["data"]["totals"]
    assert converted["currency"] == "USD" and converted["converted_with"] == {"GBP": 1.25}
    assert converted["revenue"] == pytest.approx(totals["USD"]["revenue"] + 1.25 * totals["GBP"]["revenue"], abs=0.01)
    assert any("KLAVIYO_MCP_CURRENCY_RATES" in w and "1 GBP = 1.25 USD" in w for w in again["warnings"])


def test_an_unknown_id_is_not_found_even_when_the_report_quota_is_spent(tmp_path: Path) -> None:
    # Klaviyo's report limits at half speed: 1 per 0.5 s, 2 per 30 s; the tool has 3 s.
    sandbox = Sandbox(SandboxConfig(seed=11, time_scale=0.5, clock=pinned_on(TODAY)))
    service = sandbox_service(sandbox, tmp_path, KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE="0.5")
    for timeframe in ("last_7_days", "last_30_days"):  # two windows: the steady limit spent
        ask(service, "klaviyo_get_flow_performance", account="acme", timeframe=timeframe)
    with pytest.raises(RateLimitedError):  # a third report would have to wait ~30 s
        ask(service, "klaviyo_get_flow_performance", 3, account="acme", timeframe="last_90_days")
    for tool, arguments in (
        ("klaviyo_get_flow_performance", {"flow": "NoSuchFlow1"}),
        ("klaviyo_compare_periods", {"entity": "flow", "entity_id": "NoSuchFlow1"}),
        ("klaviyo_get_campaign_performance", {"campaign": "NoSuchCampaign1"}),
    ):
        with pytest.raises(NotFoundError) as caught:
            ask(service, tool, 3, account="acme", timeframe="last_90_days", **arguments)
        assert caught.value.details["field"] in ("flow", "entity_id", "campaign"), tool


def test_revenue_is_accepted_for_conversion_value(service: KlaviyoService) -> None:
    by_word = ask(service, "klaviyo_rank_performance", account="acme", entity="flow", metric="revenue",
                  timeframe="last_30_days")["data"]  # fmt: skip
    assert by_word["metric"] == "conversion_value"
    by_name = ask(service, "klaviyo_rank_performance", account="acme", entity="flow", metric="conversion_value",
                  timeframe="last_30_days")["data"]  # fmt: skip
    assert by_word["ranked"] == by_name["ranked"]
    series = ask(service, "klaviyo_get_performance_over_time", account="acme", entity="flow",
                 timeframe="last_30_days", statistics=["revenue"])["data"]  # fmt: skip
    assert all(set(row["statistics"]) == {"conversion_value"} for row in series["series"])
    schema = get_tool("klaviyo_rank_performance").params.model_json_schema()
    assert "revenue" in str(schema["properties"]["metric"])

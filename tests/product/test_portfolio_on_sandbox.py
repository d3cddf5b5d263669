"""The portfolio view on the sandbox's two accounts: figures from each account's own answers,
the caller's accounts only, and unfinished accounts listed, never dropped."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.schemas.portfolio import PortfolioParams
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.service.portfolio import get_portfolio
from klaviyo_analytics.tools import get_tool, run_tool


def ask(service: KlaviyoService, name: str, seconds: float = 45, **arguments: Any) -> dict[str, Any]:
    return run_tool(get_tool(name), service, arguments, CallContext(Deadline(seconds)))


def test_each_account_row_matches_that_accounts_own_tools(service: KlaviyoService) -> None:
    answer = ask(service, "klaviyo_get_portfolio")
    rows = {r["account"]: r for r in answer["data"]["accounts"]}
    assert set(rows) == {"acme", "globex"} and answer["metadata"].get("partial") is None
    assert answer["data"]["pending"] == []
    for slug, row in rows.items():
        split = ask(service, "klaviyo_get_revenue_split", account=slug, timeframe="last_7_days")["data"]
        sources = {s["source"]: s["revenue"] for s in split["sources"]}
        assert row["revenue"] == split["total_revenue"] and row["flow_revenue"] == pytest.approx(sources["flows"])
        assert row["email_share"] == split["email_share"]
        anomalies = ask(service, "klaviyo_find_anomalies", account=slug)["data"]["anomalies"]
        assert row["anomaly_count"] == len(anomalies) and row["top_mover"] == anomalies[0]
    assert rows["acme"]["top_mover"]["name"] == "Browse Abandonment"
    assert rows["acme"]["worst_health"]["band"] in {"room_for_improvement", "needs_attention"}


def test_a_caller_sees_only_their_accounts(service: KlaviyoService) -> None:
    result = get_portfolio(service.scoped(["globex"]), PortfolioParams(), CallContext(Deadline(45)))
    assert [r.account for r in result.data.accounts] == ["globex"]


def test_accounts_that_cannot_finish_are_pending_not_dropped(service: KlaviyoService) -> None:
    answer = ask(service, "klaviyo_get_portfolio", seconds=0.5)
    rows = answer["data"]["accounts"]
    assert [r["account"] for r in rows] == ["acme", "globex"]
    assert all(r["revenue"] is None and r["top_mover"] is None for r in rows)
    assert answer["data"]["pending"] == [
        f"{slug}: {part} (DEADLINE_EXCEEDED)" for slug in ("acme", "globex")
        for part in ("revenue and health", "top mover and anomalies")
    ]  # fmt: skip
    assert answer["metadata"]["partial"] is True
    assert any("Not every account finished: acme, globex" in w for w in answer["warnings"])

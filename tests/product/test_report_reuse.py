"""Report reuse, proven on the sandbox: a question answered from another question's cached report
gets exactly what the direct (uncached) request would have returned, and costs no report call.

Each test asks the broad question first, then the narrower one, counts report calls in the
sandbox's own log, and compares the reused answer with the direct request a product without
reuse would make (its filter, its statistics), sent with the cache off.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from klaviyo_analytics.klaviyo.cache import TTLCache
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.quota.memory import MemoryStore
from klaviyo_analytics.rules.timeframes import preset_period
from klaviyo_analytics.service import CallContext, KlaviyoService, stats
from klaviyo_analytics.service.reports import GROUP_BY, Summed, sum_rows
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_sandbox import Sandbox
from tests.product.conftest import sandbox_service

ACME = "acme"


def ask(service: KlaviyoService, name: str, **arguments: Any) -> dict[str, Any]:
    envelope = run_tool(get_tool(name), service, {"account": ACME, **arguments}, CallContext(Deadline(45)))
    assert "error" not in envelope, envelope
    return envelope


def report_calls(sandbox: Sandbox, kind: str | None = None) -> list[dict[str, Any]]:
    return [
        e for e in sandbox.log()
        if e["path"].endswith("-reports") and (kind is None or e["path"] == f"/api/{kind}-reports")
    ]  # fmt: skip


def direct(service: KlaviyoService, kind: str, timeframe: str, **attributes: Any) -> dict[str, Any]:
    """The report request a product without reuse would send for one question, cache off."""
    account = service.account(ACME)
    period = preset_period(timeframe, service.today())
    body = {
        "data": {
            "type": f"{kind}-report",
            "attributes": {
                "timeframe": period.klaviyo_timeframe(),
                "conversion_metric_id": account.conversion_metric_id,
                **attributes,
            },
        }
    }
    document = service.client.post(account, f"/api/{kind}-reports", body, deadline=Deadline(45), cache_ttl=0)
    attrs: dict[str, Any] = document["data"]["attributes"]
    return attrs


def by_groupings(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {repr(sorted(r["groupings"].items())): r["statistics"] for r in results}


def expected_row(results: list[dict[str, Any]], key_fields: list[str]) -> dict[str, float | None]:
    rows: dict[tuple[str, ...], Summed] = sum_rows({}, results, key_fields)
    assert len(rows) == 1
    return stats.with_rates(next(iter(rows.values())).counts)


def test_one_campaign_is_a_selection_of_the_cached_account_report(sandbox: Sandbox, service: KlaviyoService) -> None:
    everything = ask(service, "klaviyo_get_campaign_performance", timeframe="last_30_days")["data"]["campaigns"]
    assert len(report_calls(sandbox)) == 1 and len(everything) >= 2
    top = everything[0]  # the ranking's first row (most revenue)

    one = ask(service, "klaviyo_get_campaign_performance", timeframe="last_30_days", campaign=top["campaign_id"])
    assert len(report_calls(sandbox)) == 1, "the single-campaign question spent a report call"
    assert one["data"]["campaigns"] == [top]

    filtered = direct(
        service, "campaign-values", "last_30_days", statistics=stats.REPORT_STATISTICS, group_by=GROUP_BY["campaign"],
        filter=f'equals(campaign_id,"{top["campaign_id"]}")',
    )  # fmt: skip
    expected = expected_row(filtered["results"], ["campaign_id"])
    assert {k: one["data"]["campaigns"][0][k] for k in expected} == expected


def test_other_statistics_and_a_filter_equal_the_direct_report(sandbox: Sandbox, service: KlaviyoService) -> None:
    """At the report level: the canonical request's rows, selected, are the direct request's rows."""
    ask(service, "klaviyo_get_campaign_performance", timeframe="last_30_days")
    canonical = direct(
        service, "campaign-values", "last_30_days", statistics=stats.REPORT_STATISTICS, group_by=GROUP_BY["campaign"]
    )
    some = ["recipients", "conversion_value"]
    target = canonical["results"][0]["groupings"]["campaign_id"]
    narrow = direct(
        service, "campaign-values", "last_30_days", statistics=some, group_by=GROUP_BY["campaign"],
        filter=f'equals(campaign_id,"{target}")',
    )  # fmt: skip
    selected = {
        key: {s: values[s] for s in some}
        for key, values in by_groupings(canonical["results"]).items()
        if f"'campaign_id', '{target}'" in key
    }
    assert selected and selected == by_groupings(narrow["results"])


def test_compare_periods_reuses_the_current_window_and_spends_one_call(
    sandbox: Sandbox, service: KlaviyoService
) -> None:
    ask(service, "klaviyo_get_campaign_performance", timeframe="last_30_days")
    compared = ask(service, "klaviyo_compare_periods", entity="campaign", timeframe="last_30_days")
    calls = report_calls(sandbox)
    assert len(calls) == 2, "compare_periods should spend one call, on the prior window"
    prior = preset_period("last_30_days", service.today()).preceding()
    assert calls[1]["body"]["data"]["attributes"]["timeframe"] == prior.klaviyo_timeframe()

    # An empty cache (both windows fetched directly), the same pacer: one process's quota.
    # (An own cache in memory: a client built from the settings alone would share the default store's.)
    cache = TTLCache(MemoryStore())
    client = KlaviyoClient(service.settings, transport=sandbox.transport, pacer=service.client.pacer, cache=cache)
    fresh = KlaviyoService(service.settings, service.registry, client, clock=service.clock)
    assert (
        ask(fresh, "klaviyo_compare_periods", entity="campaign", timeframe="last_30_days")["data"] == (compared["data"])
    )
    assert len(report_calls(sandbox)) == 4


def test_flow_drill_down_rollup_and_comparison_share_one_report(sandbox: Sandbox, service: KlaviyoService) -> None:
    everything = ask(service, "klaviyo_get_flow_performance", timeframe="last_30_days")["data"]["flows"]
    flow_id = everything[0]["flow_id"]
    one = ask(service, "klaviyo_get_flow_performance", timeframe="last_30_days", flow=flow_id)["data"]["flows"]
    rollup = ask(service, "klaviyo_get_flow_performance", timeframe="last_30_days", rollup=True)["data"]["flows"]
    assert len(report_calls(sandbox)) == 1
    assert one == [row for row in everything if row["flow_id"] == flow_id]
    ask(service, "klaviyo_compare_periods", entity="flow", timeframe="last_30_days", entity_id=flow_id)
    assert len(report_calls(sandbox)) == 2  # the prior window only

    filtered = direct(
        service, "flow-values", "last_30_days", statistics=stats.REPORT_STATISTICS, group_by=GROUP_BY["flow"],
        filter=f'equals(flow_id,"{flow_id}")',
    )  # fmt: skip
    keys = ["flow_id", "flow_message_id", "send_channel"]
    expected = {
        (r["flow_message_id"], r["send_channel"]): {k: v for k, v in r.items() if k in stats.with_rates({})}
        for r in one
    }
    got = {key[1:]: stats.with_rates(entry.counts) for key, entry in sum_rows({}, filtered["results"], keys).items()}
    assert got == expected
    total = next(r for r in rollup if r["flow_id"] == flow_id)
    assert {k: v for k, v in total.items() if k in stats.with_rates({})} == expected_row(
        filtered["results"], ["flow_id"]
    )


def test_a_flow_series_question_is_a_selection_of_the_full_series(sandbox: Sandbox, service: KlaviyoService) -> None:
    base = {"entity": "flow", "interval": "daily", "timeframe": "last_30_days"}
    first = ask(service, "klaviyo_get_performance_over_time", **base)["data"]
    flow_id = first["series"][0]["groupings"]["flow_id"]
    some = ["open_rate", "recipients", "conversion_value"]
    narrow = ask(service, "klaviyo_get_performance_over_time", **base, entity_id=flow_id, statistics=some)["data"]
    assert len(report_calls(sandbox, "flow-series")) == 1, "the narrower series spent a report call"

    raw = direct(
        service, "flow-series", "last_30_days", statistics=some, interval="daily", group_by=GROUP_BY["flow"],
        filter=f'equals(flow_id,"{flow_id}")',
    )  # fmt: skip
    assert narrow["date_times"] == raw["date_times"] == first["date_times"]
    # The same numbers, shown by the product's one rounding rule (an SMS open rate does not apply).
    expected = {
        repr(sorted(r["groupings"].items())): {
            s: [None if sms and s in stats.OPEN_RATES else stats.number(s, float(x)) for x in r["statistics"][s]]
            for s in some
        }
        for r in raw["results"]
        for sms in [r["groupings"].get("send_channel") in stats.OPENLESS_CHANNELS]
    }
    assert {repr(sorted(r["groupings"].items())): r["statistics"] for r in narrow["series"]} == expected


def test_one_segment_growth_is_a_selection_of_the_all_segments_report(
    sandbox: Sandbox, service: KlaviyoService
) -> None:
    everything = ask(service, "klaviyo_get_segment_growth", timeframe="last_30_days")["data"]["segments"]
    target = everything[0]
    one = ask(service, "klaviyo_get_segment_growth", timeframe="last_30_days", segment_id=target["segment_id"])
    assert len(report_calls(sandbox, "segment-series")) == 1
    assert one["data"]["segments"] == [target]

    account = service.account(ACME)
    period = preset_period("last_30_days", service.today())
    body = {"data": {"type": "segment-series-report", "attributes": {
        "timeframe": period.klaviyo_timeframe(), "interval": "weekly",
        "statistics": ["members_added", "members_removed", "net_members_changed", "total_members"],
        "filter": f'equals(segment_id,"{target["segment_id"]}")',
    }}}  # fmt: skip
    raw = service.client.post(account, "/api/segment-series-reports", body, deadline=Deadline(45), cache_ttl=0)
    (result,) = raw["data"]["attributes"]["results"]
    assert result["statistics"]["total_members"] == target["total_members"]
    assert result["statistics"]["members_added"] == target["members_added"]


def test_a_window_with_today_is_kept_briefly_and_a_closed_one_long(sandbox: Sandbox, tmp_path: Path) -> None:
    # Open windows not cached at all, closed ones for a day: the two TTLs are told apart.
    service = sandbox_service(
        sandbox, tmp_path, KLAVIYO_MCP_CACHE_TTL_OPEN_SECONDS="0", KLAVIYO_MCP_CACHE_TTL_CLOSED_SECONDS="86400"
    )
    for _ in range(2):
        ask(service, "klaviyo_get_flow_performance", timeframe="today")
    assert len(report_calls(sandbox)) == 2, "a window that includes today was served from a long-lived cache"
    # Closed everywhere on Earth: it ended days ago (last_7_days ends yesterday in UTC, which is still
    # today in an account's timezone behind UTC, so it counts as open for half of every UTC day).
    closed = {
        "start_date": str(service.today() - timedelta(days=10)),
        "end_date": str(service.today() - timedelta(days=3)),
    }
    for _ in range(2):
        ask(service, "klaviyo_get_flow_performance", **closed)
    assert len(report_calls(sandbox)) == 3, "a closed window was not reused"

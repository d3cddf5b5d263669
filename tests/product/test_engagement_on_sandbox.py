"""The engagement tools on the sandbox: they find what was seeded (an A/B test with a winner, one
without, the top clicked link), reconcile with the campaign values report, refuse bad ids before
any report or aggregate call, and spend no Reporting-API quota."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from klaviyo_analytics.errors import InvalidArgumentError, NotFoundError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.rules.timeframes import Period
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.service.campaigns import campaign_counts
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_sandbox import Sandbox
from klaviyo_sandbox.message_dims import ab_tests


def call(service: KlaviyoService, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return run_tool(get_tool(name), service, arguments, CallContext(Deadline(45)))


def seeded(sandbox: Sandbox, winner: bool) -> str:
    """The campaign id of the seeded A/B test with (or without) a clear winner."""
    account = sandbox.store.accounts["acme"]
    mid = next(m for m, t in ab_tests(account).items() if t.winner is winner and m in account.messages)
    return account.messages[mid].campaign_id


def report_calls(sandbox: Sandbox) -> list[str]:
    return [e["path"] for e in sandbox.log() if "-reports" in str(e.get("path")) or "aggregates" in str(e.get("path"))]


def values_report(service: KlaviyoService, campaign: str, period: dict[str, str]) -> dict[str, float]:
    account = service.account("acme")
    window = Period(date.fromisoformat(period["start_date"]), date.fromisoformat(period["end_date"]))
    rows, _ = campaign_counts(service, account, window, campaign, CallContext(Deadline(45)))
    ((_, summed),) = rows.items()
    return summed.counts


def test_a_significant_winner_is_named_and_reconciles_with_the_values_report(
    service: KlaviyoService, sandbox: Sandbox
) -> None:
    campaign = seeded(sandbox, winner=True)
    before = len([e for e in sandbox.log() if "-reports" in str(e.get("path"))])
    answer = call(service, "klaviyo_get_ab_results", {"account": "acme", "campaign": campaign})
    assert len([e for e in sandbox.log() if "-reports" in str(e.get("path"))]) == before  # no report quota
    data = answer["data"]
    assert data["has_ab_test"] and data["winner"] == "Variation B", data["verdict"]
    assert "wins on click rate" in data["verdict"] and "z-test" in data["verdict"]
    click = next(t for t in data["tests"] if t["metric"] == "click_rate")
    assert click["significant"] and click["p_value"] < 0.05
    counts = values_report(service, campaign, answer["metadata"]["period"])
    variations = data["variations"]
    assert sum(v["recipients"] for v in variations) == counts["sent"]
    assert sum(v["delivered"] for v in variations) == counts["delivered"]
    assert sum(v["opens"] for v in variations) == counts["opens"]
    assert sum(v["clicks"] for v in variations) == counts["clicks"]
    assert sum(v["conversions"] for v in variations) == counts["unique_conversions"]
    assert sum(v["revenue"] for v in variations) == pytest.approx(counts["conversion_value"], abs=0.05)


def test_no_winner_yet_says_so_with_the_sample_needed(service: KlaviyoService, sandbox: Sandbox) -> None:
    data = call(service, "klaviyo_get_ab_results", {"account": "acme", "campaign": seeded(sandbox, winner=False)})[
        "data"
    ]
    assert data["has_ab_test"] and data["winner"] is None
    assert data["verdict"].startswith("No winner yet on click rate")
    click = next(t for t in data["tests"] if t["metric"] == "click_rate")
    fewest = min(v["delivered"] for v in data["variations"])
    assert not click["significant"] and click["sample_needed_per_variation"] > fewest
    assert f"{click['sample_needed_per_variation']:,}" in data["verdict"]


def test_a_flow_message_test_and_a_message_without_one(service: KlaviyoService, sandbox: Sandbox) -> None:
    account = sandbox.store.accounts["acme"]
    flow_message = next(m for m in ab_tests(account) if m in account.flow_messages)
    data = call(service, "klaviyo_get_ab_results", {"account": "acme", "flow_message": flow_message})["data"]
    assert data["winner"] == "Variation B" and data["message"]["flow_id"] == account.flow_messages[flow_message].flow_id
    plain = next(
        c.id for c in account.campaigns.values() if c.status == "Sent" and c.message_ids[0] not in ab_tests(account)
    )
    data = call(service, "klaviyo_get_ab_results", {"account": "acme", "campaign": plain})["data"]
    assert data["has_ab_test"] is False and data["verdict"].startswith("This message has no A/B test")
    assert data["variations"] == [] and data["winner"] is None


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("klaviyo_get_ab_results", {"campaign": "NoSuchCampaign1"}, "campaign"),
        ("klaviyo_get_ab_results", {"flow_message": "NoSuchMessage1"}, "flow_message"),
        ("klaviyo_get_link_clicks", {"campaign": "NoSuchCampaign1"}, "campaign"),
    ],
)
def test_an_unknown_id_is_not_found_before_any_report_or_aggregate_call(
    service: KlaviyoService, sandbox: Sandbox, tool: str, arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(NotFoundError) as caught:
        call(service, tool, {"account": "acme", **arguments})
    assert caught.value.details["field"] == field
    assert report_calls(sandbox) == []


def test_windows_beyond_the_api_limit_are_refused_naming_the_field(service: KlaviyoService, sandbox: Sandbox) -> None:
    for tool, arguments, field in (
        ("klaviyo_get_link_clicks", {"campaign": seeded(sandbox, winner=True), "days": 366}, "days"),
        ("klaviyo_get_send_fatigue", {"weeks": 53}, "weeks"),
        ("klaviyo_get_ab_results", {}, "campaign"),
    ):
        with pytest.raises(InvalidArgumentError) as caught:
            call(service, tool, {"account": "acme", **arguments})
        assert caught.value.details["field"] == field
    assert report_calls(sandbox) == []


def test_the_top_clicked_link_groups_its_tracked_urls(service: KlaviyoService, sandbox: Sandbox) -> None:
    campaign = seeded(sandbox, winner=True)
    answer = call(service, "klaviyo_get_link_clicks", {"account": "acme", "campaign": campaign})
    data = answer["data"]
    top = data["links"][0]
    assert "/collections/" in top["url"] and "?" not in top["url"]
    assert len(top["tracked_urls"]) == 3 and {"utm_source", "utm_content", "_kx"} <= set(top["tracking_params"])
    assert all(u["url"].startswith(top["url"] + "?") for u in top["tracked_urls"])
    # Ungrouped, a product page leads: the grouping is what makes the collection page the top link.
    most_clicked = max((u for link in data["links"] for u in link["tracked_urls"]), key=lambda u: u["clicks"])
    assert "/products/" in most_clicked["url"]
    assert data["total_clicks"] == sum(link["clicks"] for link in data["links"])
    counts = values_report(service, campaign, answer["metadata"]["period"])
    assert sum(link["unique_clickers"] for link in data["links"]) == counts["clicks"]


def test_send_fatigue_states_a_correlation_and_reconciles_with_the_values_report(
    service: KlaviyoService, sandbox: Sandbox
) -> None:
    answer = call(service, "klaviyo_get_send_fatigue", {"account": "acme", "weeks": 12})
    assert not [p for p in report_calls(sandbox) if "-reports" in p]  # metric aggregates only
    data = answer["data"]
    assert len(data["weeks"]) == 12 and all(date.fromisoformat(w["week_start"]).weekday() == 0 for w in data["weeks"])
    volumes = {w["campaign_sends"] for w in data["weeks"] if w["campaign_sends"]}
    assert len(volumes) >= 3  # weekly volumes vary
    unsub = next(c for c in data["correlations"] if c["rate"] == "unsubscribe_rate")
    assert unsub["n"] == sum(1 for w in data["weeks"] if w["campaign_sends"]) and unsub["spearman_rho"] is not None
    assert f"n = {unsub['n']} weeks" in unsub["statement"] and "not evidence that sending causes" in data["summary"]
    period = answer["metadata"]["period"]
    counts = values_report_all(service, period)
    assert sum(w["campaign_sends"] for w in data["weeks"]) == counts["sent"]
    assert sum(w["unsubscribes"] for w in data["weeks"]) == counts["unsubscribes"]
    assert sum(w["spam_complaints"] for w in data["weeks"]) == counts["spam_complaints"]


def values_report_all(service: KlaviyoService, period: dict[str, str]) -> dict[str, float]:
    """Email campaign counts over the window from the campaign values report."""
    from klaviyo_analytics.service import stats

    account = service.account("acme")
    window = Period(date.fromisoformat(period["start_date"]), date.fromisoformat(period["end_date"]))
    rows, _ = campaign_counts(service, account, window, None, CallContext(Deadline(45)))
    email = [s.counts for s in rows.values() if s.label("send_channel") == "email"]
    return stats.sum_counts(email)

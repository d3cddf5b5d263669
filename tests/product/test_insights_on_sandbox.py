"""Revenue split, rankings and anomalies on the sandbox, every figure checked against its own reports."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.tools import get_tool, run_tool


def ask(service: KlaviyoService, name: str, **arguments: Any) -> dict[str, Any]:
    return run_tool(get_tool(name), service, {"account": "acme", **arguments}, CallContext(Deadline(45)))


def test_revenue_split_adds_up_to_the_campaign_flow_and_metric_reports(service: KlaviyoService) -> None:
    window = {"timeframe": "last_30_days"}
    split = ask(service, "klaviyo_get_revenue_split", **window)["data"]
    campaigns = ask(service, "klaviyo_get_campaign_performance", **window)["data"]["campaigns"]
    flows = ask(service, "klaviyo_get_flow_performance", **window)["data"]["flows"]
    orders = ask(service, "klaviyo_query_metric_aggregates", metric="Placed Order", measurements=["sum_value"],
                 interval="monthly", **window)["data"]  # fmt: skip
    total = sum(r["totals"]["sum_value"] for r in orders["rows"])
    sources = {s["source"]: s["revenue"] for s in split["sources"]}
    assert sources["campaigns"] == pytest.approx(sum(c["conversion_value"] for c in campaigns), abs=0.05)
    assert sources["flows"] == pytest.approx(sum(f["conversion_value"] for f in flows), abs=0.05)
    assert split["total_revenue"] == pytest.approx(total, abs=0.05)
    assert sources["other"] == pytest.approx(total - sources["campaigns"] - sources["flows"], abs=0.05)
    email = next(c for c in split["channels"] if c["channel"] == "email")
    assert email["campaigns"] == pytest.approx(
        sum(c["conversion_value"] for c in campaigns if c["send_channel"] == "email"), abs=0.05
    )
    assert split["email_share"] == pytest.approx((email["campaigns"] + email["flows"]) / total, abs=1e-4)
    assert sum(s["share"] for s in split["sources"]) == pytest.approx(1.0, abs=1e-3)


def test_rankings_follow_the_report_and_respect_the_floor(service: KlaviyoService) -> None:
    window = {"timeframe": "last_90_days"}
    campaigns = ask(service, "klaviyo_get_campaign_performance", **window)["data"]["campaigns"]
    floor = sorted(c["delivered"] for c in campaigns)[len(campaigns) // 2]  # half the campaigns fall below it
    ranked = ask(service, "klaviyo_rank_performance", entity="campaign", metric="open_rate", limit=3,
                 min_delivered=floor, **window)  # fmt: skip
    eligible = [c for c in campaigns if c["delivered"] >= floor and c["open_rate"] is not None]
    expected = sorted(eligible, key=lambda c: (-c["open_rate"], -c["delivered"]))[:3]
    assert [r["id"] for r in ranked["data"]["ranked"]] == [c["campaign_id"] for c in expected]
    assert [r["value"] for r in ranked["data"]["ranked"]] == [c["open_rate"] for c in expected]
    below = sum(c["delivered"] < floor for c in campaigns)
    assert ranked["data"]["below_floor"] == below > 0
    assert any("fewer than" in w for w in ranked["warnings"])
    bottom = ask(service, "klaviyo_rank_performance", entity="campaign", metric="conversion_value", order="bottom",
                 limit=1, min_delivered=0, **window)["data"]["ranked"]  # fmt: skip
    assert bottom[0]["value"] == min(c["conversion_value"] for c in campaigns)


def flow_rollup(service: KlaviyoService, period: dict[str, str]) -> dict[str, dict[str, Any]]:
    window = {"start_date": period["start_date"], "end_date": period["end_date"]}
    rows = ask(service, "klaviyo_get_flow_performance", rollup=True, **window)["data"]["flows"]
    return {r["flow_name"]: r for r in rows}


def test_anomalies_find_the_broken_flow_and_the_bad_week(service: KlaviyoService) -> None:
    answer = ask(service, "klaviyo_find_anomalies")["data"]  # this week vs last, flows
    assert answer["comparison"] == "previous_equal_window"
    now, before = flow_rollup(service, answer["current_period"]), flow_rollup(service, answer["prior_period"])
    found = {(a["kind"], a["name"], a["metric"]): a for a in answer["anomalies"]}
    stopped = found[("stopped_sending", "Browse Abandonment", "delivered")]
    assert stopped["prior"] == before["Browse Abandonment"]["delivered"] >= 100
    assert "Browse Abandonment" not in now or now["Browse Abandonment"]["delivered"] == 0
    drop = found[("change", "Abandoned Cart Reminder", "sent")]
    current, prior = now["Abandoned Cart Reminder"]["sent"], before["Abandoned Cart Reminder"]["sent"]
    assert (drop["current"], drop["prior"]) == (current, prior)
    assert drop["pct_change"] == round((current - prior) / prior, 4) <= -0.3
    # Healthy flows are not reported; an account-total row says so by name.
    assert all(a["name"] in {"Browse Abandonment", "Abandoned Cart Reminder"} for a in answer["anomalies"]
               if a["scope"] == "flow")  # fmt: skip
    assert all(a["name"] == "All flows" and a["id"] is None for a in answer["anomalies"] if a["scope"] != "flow")
    # Each finding: the volumes behind it, a test suited to it that it passed, its money impact;
    # the list is ranked by impact.
    for a in answer["anomalies"]:
        assert a["prior_volume"] >= 100 and a["current_volume"] is not None
        assert a["test"] == ("two_proportion" if a["metric"].endswith("_rate") else "poisson") and a["p_value"] < 0.01
        assert a["impact"] is not None and a["impact_basis"]
    impacts = [abs(a["impact"]) for a in answer["anomalies"]]
    assert impacts == sorted(impacts, reverse=True)
    lost = before["Browse Abandonment"]["conversion_value"]  # stopped: the prior week's revenue, not made
    assert stopped["impact"] == -round(lost, 2) and stopped["current_volume"] == 0
    assert answer["suppressed"] > 0  # changes past the threshold within noise: counted, not listed


def test_predictive_distribution_matches_the_list_profiles(sandbox: Any, service: KlaviyoService) -> None:
    from statistics import fmean

    account = service.account("acme")
    lists = ask(service, "klaviyo_get_list_health")["data"]["lists"]

    def members(list_id: str) -> list[dict[str, Any]]:  # the sandbox's own profiles of a list, read directly
        query = {"additional-fields[profile]": "predictive_analytics", "page[size]": "100"}
        return service.client.get_all(account, f"/api/lists/{list_id}/profiles", query, deadline=Deadline(45))

    target = max(lists, key=lambda rec: len(members(rec["list_id"])))
    raw = members(target["list_id"])
    answer = ask(service, "klaviyo_get_predictive_analytics", list_id=target["list_id"])
    data = answer["data"]
    predictions = [p["attributes"]["predictive_analytics"] for p in raw]
    known = [p for p in predictions if p["predicted_clv"] is not None]
    assert data["profiles_read"] == len(raw) > 0 and data["sampled"] is False
    assert data["with_predictions"] == len(known) < len(raw)  # some profiles have no predictions yet
    assert data["predicted_clv"]["mean"] == round(fmean(p["predicted_clv"] for p in known), 2)
    churn = [p["churn_probability"] for p in known]
    assert data["churn_risk"] == {"low": sum(c < 0.3 for c in churn), "medium": sum(0.3 <= c < 0.7 for c in churn),
                                  "high": sum(c >= 0.7 for c in churn)}  # fmt: skip
    sample = ask(service, "klaviyo_get_predictive_analytics", list_id=target["list_id"], max_profiles=5)
    assert sample["data"]["profiles_read"] == 5 and sample["data"]["sampled"] is True
    assert any("Sampled: the first 5 profiles" in w for w in sample["warnings"])


def test_without_an_audience_the_whole_account_is_described(service: KlaviyoService) -> None:
    account = service.account("acme")
    everyone = service.client.get_all(account, "/api/profiles", {"page[size]": "100"}, deadline=Deadline(45))
    data = ask(service, "klaviyo_get_predictive_analytics")["data"]
    assert data["audience"] == {"kind": "account", "id": "acme"} and data["profiles_read"] == len(everyone)

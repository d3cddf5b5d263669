"""The flow audit and deliverability by provider, on the sandbox: each finds what was seeded (no sunset
flow, a live flow that stopped, a Gmail spam spike), its numbers reconcile with the values reports, it
spends the fewest report calls, and an unknown id is NOT_FOUND before any report or aggregate call."""

from __future__ import annotations

from typing import Any

import pytest

from api import create_app
from klaviyo_analytics.errors import InvalidArgumentError, NotFoundError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.rules.timeframes import preset_period
from klaviyo_analytics.service import CallContext, KlaviyoService, stats
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_sandbox import Sandbox
from tests.product.conftest import REST_TOKEN
from tests.product.test_report_reuse import direct, report_calls

ACME = "acme"


def ask(service: KlaviyoService, name: str, **arguments: Any) -> dict[str, Any]:
    return run_tool(get_tool(name), service, {"account": ACME, **arguments}, CallContext(Deadline(45)))


def aggregate_calls(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [e for e in sandbox.log() if e["path"] == "/api/metric-aggregates"]


def test_audit_finds_the_missing_sunset_and_the_stopped_flow(sandbox: Sandbox, service: KlaviyoService) -> None:
    data = ask(service, "klaviyo_audit_flows")["data"]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for finding in data["findings"]:
        by_kind.setdefault(finding["kind"], []).append(finding)
    (sunset,) = [f for f in by_kind["missing_stage"] if f["stage"] == "sunset"]
    assert sunset["recipe"] == "sunset"
    (stopped,) = by_kind["stopped_sending"]
    assert stopped["flow_name"] == "Browse Abandonment" and stopped["severity"] == "high"
    assert stopped["evidence"]["sent_last_days"] == 0 and stopped["evidence"]["sent_before"] > 0
    stages = {s["stage"]: s for s in data["lifecycle"]}
    assert stages["browse_abandonment"]["flows"][0]["trigger"] == "Metric: Viewed Product"
    assert stages["abandoned_checkout"]["covered"] and not stages["sunset"]["covered"]
    # Post-purchase exists but is manual: not covered, and the recipe that would add a live one is named.
    assert [f["recipe"] for f in by_kind["stage_not_live"] if f["stage"] == "post_purchase"] == ["post_purchase"]
    assert len(report_calls(sandbox)) == 1  # the monthly flow series; the rest is flows, metrics, aggregates
    ask(service, "klaviyo_audit_flows")
    assert len(report_calls(sandbox)) == 1, "a second audit spent a report call"


def test_audit_with_a_longer_idle_window_does_not_flag_a_recent_stop(service: KlaviyoService) -> None:
    data = ask(service, "klaviyo_audit_flows", idle_days=14)["data"]
    assert not [f for f in data["findings"] if f["kind"] == "stopped_sending"]  # it stopped 10 days ago


def test_deliverability_finds_the_gmail_spam_spike_and_its_send(sandbox: Sandbox, service: KlaviyoService) -> None:
    envelope = ask(service, "klaviyo_get_deliverability", timeframe="last_30_days")
    data = envelope["data"]
    spam = next(w for w in data["worst"] if w["rate"] == "spam_complaint_rate")
    assert spam["inbox_provider"] == "Gmail" and spam["band"] == "needs_attention"
    top = spam["sends"][0]
    assert top["flow_id"] is None and top["share_of_provider"] > 0.5  # one campaign drove it
    gmail = next(r for r in data["providers"] if r["inbox_provider"] == "Gmail")
    assert gmail["health"]["spam_complaint_rate"] == "needs_attention"
    assert {"Hard Bounce", "Soft Bounce"} == {b["bounce_type"] for b in data["bounce_types"]}
    assert any("Inbox placement" in line for line in data["cannot_know"])
    assert report_calls(sandbox) == []  # aggregates only: no Reporting API quota spent
    # The campaign behind it, asked alone: the same send, scoped by its messages.
    campaigns = ask(service, "klaviyo_get_campaigns")["data"]["campaigns"]
    (campaign,) = [c for c in campaigns if c["name"] == top["message_name"]]
    alone = ask(service, "klaviyo_get_deliverability", timeframe="last_30_days", campaign=campaign["campaign_id"])
    alone_gmail = next(r for r in alone["data"]["providers"] if r["inbox_provider"] == "Gmail")
    assert (alone_gmail["sent"], alone_gmail["spam_complaints"]) == (
        top["sent"], top["count"])  # fmt: skip


def test_deliverability_totals_reconcile_with_the_values_reports(sandbox: Sandbox, service: KlaviyoService) -> None:
    totals = ask(service, "klaviyo_get_deliverability", timeframe="last_30_days")["data"]["totals"]
    expected = dict.fromkeys(("sent", "bounces", "spam_complaints", "unsubscribes"), 0.0)
    for kind in ("campaign", "flow"):
        report = direct(service, f"{kind}-values", "last_30_days", statistics=stats.REPORT_STATISTICS,
                        filter='equals(send_channel,"email")')  # fmt: skip
        for result in report["results"]:
            counts = stats.counts_from_statistics(result["statistics"], "email")
            for name in expected:
                expected[name] += counts[name]
    assert {k: totals[k] for k in expected} == {k: round(v) for k, v in expected.items()}
    assert totals["bounce_rate"] == stats.ratio(expected["bounces"], expected["sent"])


def test_deliverability_of_one_flow_adds_up_to_its_flow_report(service: KlaviyoService) -> None:
    flows = ask(service, "klaviyo_get_flow_performance", timeframe="last_30_days", rollup=True)["data"]["flows"]
    flow = max(flows, key=lambda f: f["bounces"])
    report = direct(service, "flow-values", "last_30_days", statistics=stats.REPORT_STATISTICS,
                    filter=f'and(equals(flow_id,"{flow["flow_id"]}"),equals(send_channel,"email"))')  # fmt: skip
    sent = sum(r["statistics"]["recipients"] for r in report["results"])
    bounces = sum(r["statistics"]["bounced"] for r in report["results"])
    data = ask(service, "klaviyo_get_deliverability", timeframe="last_30_days", flow=flow["flow_id"])["data"]
    assert (data["totals"]["sent"], data["totals"]["bounces"]) == (sent, bounces)
    assert sum(r["sent"] for r in data["domains"]) == sent


def test_unknown_ids_are_not_found_before_any_report_or_aggregate(sandbox: Sandbox, service: KlaviyoService) -> None:
    for field in ("campaign", "flow"):
        with pytest.raises(NotFoundError) as found:
            ask(service, "klaviyo_get_deliverability", **{field: "NoSuchId9"})
        assert found.value.code == "NOT_FOUND" and found.value.details["field"] == field
    with pytest.raises(InvalidArgumentError):
        ask(service, "klaviyo_get_deliverability", campaign="A1", flow="B2")
    assert report_calls(sandbox) == [] and aggregate_calls(sandbox) == []


def test_a_window_past_a_year_is_split(sandbox: Sandbox, service: KlaviyoService) -> None:
    today = service.today(service.account(ACME))
    last = preset_period("last_365_days", today)
    start = last.start.replace(year=last.start.year - 1)
    envelope = ask(service, "klaviyo_get_deliverability", start_date=start.isoformat(), end_date=last.end.isoformat())
    assert "error" not in envelope, envelope
    assert len(aggregate_calls(sandbox)) == 16  # four metrics, two groupings, two yearly chunks


def test_rest_routes_answer_and_refuse_bad_input_naming_the_field(sandbox: Sandbox, service: KlaviyoService) -> None:
    client = create_app(service=service).test_client()
    auth = {"Authorization": f"Bearer {REST_TOKEN}"}
    bad = client.get("/v1/flows/audit?account=acme&idle_days=0", headers=auth)
    assert bad.status_code == 400 and bad.json["error"]["details"]["field"] == "idle_days"
    missing = client.post("/v1/deliverability", json={"account": "acme", "campaign": "NoSuch1"}, headers=auth)
    assert missing.status_code == 404 and missing.json["error"]["details"]["field"] == "campaign"
    too_long = client.post("/v1/deliverability", json={"account": "acme", "start_date": "2019-01-01",
                                                      "end_date": "2026-12-01"}, headers=auth)  # fmt: skip
    assert too_long.status_code == 400 and too_long.json["error"]["code"] == "INVALID_ARGUMENT"
    assert report_calls(sandbox) == [] and aggregate_calls(sandbox) == []
    ok = client.get("/v1/flows/audit?account=acme&idle_days=14", headers=auth)
    assert ok.status_code == 200 and ok.json["data"]["windows"]["activity"]["end_date"]

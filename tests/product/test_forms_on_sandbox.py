"""klaviyo_get_form_performance on the sandbox: numbers that reconcile with Klaviyo's form report and
with list growth, an A/B readout only when the data says so, NOT_FOUND before any report call."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from klaviyo_analytics.errors import InvalidArgumentError, NotFoundError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_sandbox import Sandbox
from tests.product.conftest import TODAY

# Four whole weeks (Monday to Sunday) ending the day before the pinned today.
END = TODAY - timedelta(days=TODAY.weekday() + 1)
START = END - timedelta(days=27)
WINDOW = {"start_date": START.isoformat(), "end_date": END.isoformat()}


def call(service: KlaviyoService, **arguments: Any) -> dict[str, Any]:
    return run_tool(get_tool("klaviyo_get_form_performance"), service, {"account": "acme", **arguments},
                    CallContext(Deadline(45)))  # fmt: skip


def report_calls(sandbox: Sandbox) -> int:
    return sum(1 for e in sandbox.log() if e["path"].startswith("/api/form-") and e["status"] == 200)


def direct_report(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """The form-values report the sandbox answers for the window, by version id (a second client)."""
    account = sandbox.accounts[0]
    import httpx

    with httpx.Client(transport=sandbox.transport, base_url="http://sandbox") as http:
        body = {"data": {"type": "form-values-report", "attributes": {
            "statistics": ["viewed_form", "viewed_form_uniques", "submits", "submit_rate"],
            "timeframe": {"start": f"{START}T00:00:00", "end": f"{END + timedelta(days=1)}T00:00:00"},
            "group_by": ["form_id", "form_version_id"]}}}  # fmt: skip
        headers = {"Authorization": f"Klaviyo-API-Key {account.api_key}", "revision": "2026-07-15"}
        answer = http.post("/api/form-values-reports", json=body, headers=headers).json()
    return {r["groupings"]["form_version_id"]: r["statistics"] for r in answer["data"]["attributes"]["results"]}


def test_forms_reconcile_with_the_report_and_with_list_growth(sandbox: Sandbox, service: KlaviyoService) -> None:
    data = call(service, **WINDOW)["data"]
    acme = sandbox.store.accounts["acme"]
    live = {f.id for f in acme.forms.values() if f.status == "live"}
    assert {f["form_id"] for f in data["forms"]} == live  # the draft form had no views
    expected = direct_report(sandbox)
    for form in data["forms"]:
        for version in form["versions"]:
            stats = expected[version["form_version_id"]]
            assert (version["views"], version["unique_views"], version["submits"]) == (
                stats["viewed_form"], stats["viewed_form_uniques"], stats["submits"])  # fmt: skip
            assert version["submit_rate"] == pytest.approx(stats["submit_rate"], abs=1e-4)
        assert form["submits"] == sum(v["submits"] for v in form["versions"])
        assert 0 < form["list_growth"] <= form["submits"]  # new subscribers among the submitters
    assert data["totals"]["submits"] == sum(s["submits"] for s in expected.values())
    # The list growth claimed equals the list's own growth from form events (Subscribed to List by form_id).
    growth = call_aggregate_by_form(service)
    assert {f["form_id"]: f["list_growth"] for f in data["forms"]} == growth
    assert data["list_growth_total"] == sum(growth.values())
    assert "No cited benchmark" in data["benchmark"]


def call_aggregate_by_form(service: KlaviyoService) -> dict[str, int]:
    answer = run_tool(get_tool("klaviyo_query_metric_aggregates"), service, {
        "account": "acme", "metric": "Subscribed to List", "by": ["form_id"], "interval": "monthly", **WINDOW,
    }, CallContext(Deadline(45)))["data"]  # fmt: skip
    rows = [(row["dimensions"]["form_id"], row["totals"]["count"]) for row in answer["rows"]]
    return {form_id: int(count) for form_id, count in rows if form_id}


def test_the_ab_popup_names_a_winner_and_single_versions_have_none(service: KlaviyoService) -> None:
    forms = {f["name"]: f for f in call(service, timeframe="last_90_days")["data"]["forms"]}
    popup = forms["Welcome Popup – 10% Off"]
    assert popup["ab_test"] is True and len(popup["versions"]) == 2
    readout = popup["ab_result"]
    b = next(v for v in popup["versions"] if v["variation_name"] == "B")
    assert readout["significant"] and readout["leader"] == b["form_version_id"] and readout["p_value"] < 0.05
    assert "two-proportion" in readout["test"]
    assert forms["Footer Signup"]["ab_result"] is None


def test_one_form_after_all_costs_no_report_call(sandbox: Sandbox, service: KlaviyoService) -> None:
    everything = call(service, **WINDOW)["data"]
    before = report_calls(sandbox)
    one = everything["forms"][0]
    answer = call(service, form_id=one["form_id"], **WINDOW)["data"]
    assert report_calls(sandbox) == before
    assert answer["forms"] == [one]


def test_an_unknown_form_is_not_found_before_any_report_call(sandbox: Sandbox, service: KlaviyoService) -> None:
    with pytest.raises(NotFoundError) as raised:
        call(service, form_id="NoSuch1", **WINDOW)
    assert raised.value.details.get("field") == "form_id"
    assert "klaviyo_get_form_performance" in str(raised.value)
    assert report_calls(sandbox) == 0


def test_series_by_week_adds_up_to_the_window(service: KlaviyoService) -> None:
    data = call(service, interval="weekly", **WINDOW)["data"]
    assert len(data["date_times"]) == 4 and data["interval"] == "weekly"
    totals = {f["form_id"]: f["submits"] for f in data["forms"]}
    assert {s["form_id"]: sum(s["submits"]) for s in data["series"]} == totals


def test_a_series_longer_than_klaviyo_allows_names_the_field(service: KlaviyoService) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        call(service, interval="daily", start_date=(TODAY - timedelta(days=120)).isoformat(),
             end_date=(TODAY - timedelta(days=1)).isoformat())  # fmt: skip
    assert raised.value.details.get("field") == "interval"


def test_warm_covers_the_common_form_windows(tmp_path: Any) -> None:
    from klaviyo_analytics.service.warm import warm
    from klaviyo_analytics.tools import CATALOG
    from tests.product.test_warm import process, report_calls, warm_sandbox

    sandbox = warm_sandbox()
    (run,) = warm(process(sandbox, tmp_path), ["acme"], CATALOG)
    assert run.complete and report_calls(sandbox)["/api/form-values-reports"] == 4  # the four common windows
    before = report_calls(sandbox)
    person = process(sandbox, tmp_path)
    for timeframe in ("last_30_days", "last_7_days", "last_month", "this_month"):
        call(person, timeframe=timeframe)
    assert report_calls(sandbox) == before

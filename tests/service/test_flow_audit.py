"""The flow audit's judgements on one flow: messages that do not send, Smart Sending off, stops, decay."""

from __future__ import annotations

from datetime import date
from typing import Any

from klaviyo_analytics.service.flow_audit import audit_flow, decay_finding, decay_window

DATES = [f"2026-11-{d:02d}T00:00:00" for d in range(1, 31)]


def flow(*actions: str) -> dict[str, Any]:
    return {"id": "F1", "attributes": {"name": "Winback", "status": "live"},
            "relationships": {"flow-actions": {"data": [{"type": "flow-action", "id": a} for a in actions]}}}  # fmt: skip


def send(action_id: str, status: str = "live", smart: bool = True, transactional: bool = False) -> dict[str, Any]:
    message = {"smart_sending_enabled": smart, "transactional": transactional}
    return {"id": action_id, "attributes": {"definition": {"type": "send-email", "data": {"status": status,
                                                                                          "message": message}}}}  # fmt: skip


def kinds(findings: list[Any]) -> dict[str, Any]:
    return {f.kind: f for f in findings}


def test_draft_and_manual_messages_of_a_live_flow_are_flagged() -> None:
    actions = {"A": send("A"), "B": send("B", status="draft"), "C": send("C", status="manual")}
    found = kinds(audit_flow(flow("A", "B", "C"), actions, "winback", [5.0] * 30, DATES, 7))
    assert [a["flow_action_id"] for a in found["messages_not_live"].evidence["actions"]] == ["B", "C"]
    assert "stopped_sending" not in found


def test_smart_sending_off_is_flagged_only_where_it_is_usually_on() -> None:
    actions = {"A": send("A", smart=False), "B": send("B", smart=False, transactional=True)}
    found = kinds(audit_flow(flow("A", "B"), actions, "winback", [5.0] * 30, DATES, 7))
    assert found["smart_sending_off"].evidence["flow_action_ids"] == ["A"]
    welcome = kinds(audit_flow(flow("A"), actions, "welcome", [5.0] * 30, DATES, 7))
    assert "smart_sending_off" not in welcome


def test_a_flow_that_stopped_shows_its_last_send() -> None:
    sends = [5.0] * 20 + [0.0] * 10
    found = kinds(audit_flow(flow(), {}, None, sends, DATES, 7))["stopped_sending"]
    assert found.severity == "high" and found.evidence["last_send"] == "2026-11-20"
    assert found.evidence["sent_before"] == 100
    silent = kinds(audit_flow(flow(), {}, None, None, DATES, 7))["stopped_sending"]
    assert silent.severity == "medium" and silent.evidence["last_send"] is None


def test_revenue_per_recipient_decay() -> None:
    months = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    falling = [(300.0, 1000.0)] * 3 + [(150.0, 1000.0)] * 3
    found = decay_finding(flow(), "winback", months, falling)
    assert found is not None and found.evidence["before"] == 0.3 and found.evidence["after"] == 0.15
    assert decay_finding(flow(), "winback", months, [(300.0, 1000.0)] * 6) is None
    assert decay_finding(flow(), "winback", months, [(300.0, 10.0)] * 3 + [(1.0, 10.0)] * 3) is None  # too few


def test_the_decay_window_is_the_last_six_whole_months() -> None:
    window = decay_window(date(2026, 3, 1))
    assert (window.start, window.end) == (date(2025, 9, 1), date(2026, 2, 28))
    leap = decay_window(date(2024, 3, 31))
    assert (leap.start, leap.end) == (date(2023, 9, 1), date(2024, 2, 29))

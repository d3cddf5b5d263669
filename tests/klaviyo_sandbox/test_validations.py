"""Validations as strict as Klaviyo's: E.164 phone numbers, quoted filter strings, one-year windows."""

from __future__ import annotations

import httpx
import pytest

from klaviyo_sandbox import Sandbox

from .conftest import ClientFactory
from .helpers import error_of, patch, post


@pytest.mark.parametrize("phone", ["555-1234", "15005550006", "+1 500 555 0006", "+0123456789", "+1234567890123456"])
def test_a_phone_number_not_in_e164_is_a_400(client: httpx.Client, phone: str) -> None:
    for path in ("/api/profiles", "/api/profile-import"):
        refused = post(client, path, {"type": "profile", "attributes": {"phone_number": phone}})
        assert refused.status_code == 400, (path, phone)
        assert error_of(refused)["source"] == {"pointer": "/data/attributes/phone_number"}
        assert "E.164" in error_of(refused)["detail"]


def test_an_e164_phone_number_is_accepted(client: httpx.Client) -> None:
    assert (
        post(client, "/api/profiles", {"type": "profile", "attributes": {"phone_number": "+15005550006"}}).status_code
        == 201
    )


def _values(client: httpx.Client, conv: str, start: str, end: str) -> httpx.Response:
    attributes = {"statistics": ["recipients"], "conversion_metric_id": conv, "timeframe": {"start": start, "end": end}}
    return post(client, "/api/campaign-values-reports", {"type": "campaign-values-report", "attributes": attributes})


def _aggregate(client: httpx.Client, metric: str, start: str, end: str) -> httpx.Response:
    attributes = {"metric_id": metric, "measurements": ["count"], "interval": "month",
                  "filter": [f"greater-or-equal(datetime,{start})", f"less-than(datetime,{end})"]}  # fmt: skip
    return post(client, "/api/metric-aggregates", {"type": "metric-aggregate", "attributes": attributes})


@pytest.mark.parametrize(
    ("start", "end", "allowed"),
    [
        ("2025-01-01T00:00:00", "2026-01-01T00:00:00", True),  # 365 days: one year
        ("2024-01-01T00:00:00", "2025-01-01T00:00:00", True),  # 366 days across 29 February: one year
        ("2025-01-01T00:00:00", "2026-01-02T00:00:00", False),  # 366 days: a year and a day
        ("2025-03-01T00:00:00", "2026-03-01T00:00:01", False),
    ],
)
def test_windows_may_span_one_year_and_no_more(
    fast_sandbox: Sandbox, make_client: ClientFactory, start: str, end: str, allowed: bool
) -> None:
    client = make_client(fast_sandbox)
    conv = fast_sandbox.accounts[0].conversion_metric_id
    report, aggregate = _values(client, conv, start, end), _aggregate(client, conv, start, end)
    assert (report.status_code, aggregate.status_code) == ((200, 200) if allowed else (400, 400))
    if not allowed:
        assert "one year" in error_of(report)["detail"] and "one year" in error_of(aggregate)["detail"]


def test_write_answers_declare_only_the_relationships_the_spec_gives_them(client: httpx.Client) -> None:
    created = post(client, "/api/profiles", {"type": "profile", "attributes": {"email": "shape@example.com"}})
    pid = created.json()["data"]["id"]
    writes = [
        created,
        post(client, "/api/profile-import", {"type": "profile", "attributes": {"email": "shape@example.com"}}),
        patch(client, f"/api/profiles/{pid}", {"type": "profile", "id": pid, "attributes": {"title": "Dr"}}),
    ]
    for answer in writes:
        assert set(answer.json()["data"]["relationships"]) == {"lists", "segments", "push-tokens"}
    read = client.get(f"/api/profiles/{pid}").json()["data"]
    assert "conversations" in read["relationships"]  # the GETs declare it


def test_a_profile_without_a_location_has_a_location_of_nulls(client: httpx.Client) -> None:
    created = post(client, "/api/profiles", {"type": "profile", "attributes": {"email": "where@example.com"}})
    location = created.json()["data"]["attributes"]["location"]
    assert isinstance(location, dict) and set(location.values()) == {None}
    # reentry_criteria stays null: Klaviyo's own SDK reads null there and fails on an object
    # (tests/klaviyo_sandbox/test_official_sdk.py reads a flow definition with it).

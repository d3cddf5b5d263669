"""Predictive analytics: one audience, paged and sampled, distributions from the profiles' fields."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from klaviyo_analytics.clock import pinned_on
from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.schemas.predictive import PredictiveParams
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.service.predictive import distribution, get_predictive_analytics
from tests.helpers import FakeKlaviyo, jsonapi, make_settings


def service(tmp_path: Path, fake: FakeKlaviyo) -> KlaviyoService:
    settings = make_settings(tmp_path)
    client = KlaviyoClient(settings, transport=fake.transport)
    return KlaviyoService(settings, load_registry(settings), client, clock=pinned_on(date(2026, 3, 1)))


def profile(i: int, churn: float | None) -> dict[str, Any]:
    pa = {"predicted_clv": 10.0 * i, "churn_probability": churn, "expected_date_of_next_order": f"2026-03-{i:02d}"}
    return {"type": "profile", "id": f"P{i}", "attributes": {"predictive_analytics": pa if churn is not None else
                                                              dict.fromkeys(pa)}}  # fmt: skip


def pages(request: httpx.Request) -> httpx.Response:
    cursor = int(request.url.params.get("page[cursor]", "0"))
    size = int(request.url.params["page[size]"])
    data = [profile(i, None if i == 1 else i / 10) for i in range(1 + cursor, 1 + cursor + size) if i <= 9]
    more = cursor + size < 9
    links = {"next": f"https://a.klaviyo.com{request.url.path}?page[size]={size}&page[cursor]={cursor + size}"}
    return jsonapi({"data": data, "links": links if more else {}})


def test_a_segment_is_read_page_by_page_and_summarised(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("GET", "/api/segments/S1/profiles", pages)
    result = get_predictive_analytics(
        service(tmp_path, fake), PredictiveParams(segment_id="S1"), CallContext(Deadline(45))
    )
    data = result.data
    assert data.profiles_read == 9 and data.with_predictions == 8 and data.sampled is False
    assert data.churn_risk == {"low": 1, "medium": 4, "high": 3}  # 0.2 | 0.3..0.6 | 0.7..0.9
    assert data.predicted_clv.mean == 55.0 and data.predicted_clv.count == 8
    assert data.overdue == 0 and data.days_to_next_order.median == 4.5  # 2026-03-02..09 from 03-01
    assert fake.requests[0].url.params["additional-fields[profile]"] == "predictive_analytics"


def test_a_large_audience_is_sampled_and_says_so(tmp_path: Path) -> None:
    fake = FakeKlaviyo()
    fake.route("GET", "/api/lists/L1/profiles", pages)
    params = PredictiveParams(list_id="L1", max_profiles=4)
    result = get_predictive_analytics(service(tmp_path, fake), params, CallContext(Deadline(45)))
    assert result.data.profiles_read == 4 and result.data.sampled is True and len(fake.requests) == 1
    assert "Sampled: the first 4 profiles" in result.warnings[0]


def test_one_audience_at_most_and_small_distributions() -> None:
    with pytest.raises(InvalidArgumentError):
        params = PredictiveParams(list_id="L1", segment_id="S1")
        get_predictive_analytics(None, params, CallContext(Deadline(45)))  # type: ignore[arg-type]
    assert distribution([], 2).mean is None and distribution([3.0], 2).p90 == 3.0

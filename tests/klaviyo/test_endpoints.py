"""The endpoint table agrees with Klaviyo's spec: rate limits and scopes."""

from __future__ import annotations

import re

from klaviyo_analytics.klaviyo.endpoints import ENDPOINTS, PROFILE_COUNT_LIMIT, RateLimit, resolve
from tests.spec import load_spec


def parse_limit(raw: dict[str, str]) -> RateLimit:
    def number(value: str | None) -> int | None:
        return int(re.match(r"(\d+)", value).group(1)) if value else None  # type: ignore[union-attr]

    return RateLimit(number(raw["burst"]) or 0, number(raw["steady"]) or 0, number(raw.get("daily")))


def test_every_endpoint_matches_the_spec() -> None:
    paths = load_spec()["paths"]
    for endpoint in ENDPOINTS:
        operation = paths[endpoint.template][endpoint.method.lower()]
        assert operation["operationId"] == endpoint.operation_id
        assert parse_limit(operation["x-klaviyo-ratelimit"]) == endpoint.limit, endpoint.operation_id
        assert tuple(operation["x-klaviyo-scopes"]) == endpoint.scopes, endpoint.operation_id


def test_profile_count_variant_limit_is_the_published_one() -> None:
    description = load_spec()["paths"]["/api/lists/{id}"]["get"]["description"]
    assert "profile_count" in description
    assert f"Burst: `{PROFILE_COUNT_LIMIT.burst}/s`" in description.split("profile_count", 1)[1]
    assert f"Steady: `{PROFILE_COUNT_LIMIT.steady}/m`" in description.split("profile_count", 1)[1]
    assert resolve("GET", "/api/lists/X1", {"additional-fields[list]": "profile_count"}).limit == PROFILE_COUNT_LIMIT  # type: ignore[union-attr]
    assert resolve("GET", "/api/lists/X1").limit.burst == 75  # type: ignore[union-attr]
    assert resolve("GET", "/api/nothing") is None

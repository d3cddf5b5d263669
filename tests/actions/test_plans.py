"""Plan steps: references only to what earlier steps return, ids only in paths, dotted reads."""

from __future__ import annotations

import pytest

from klaviyo_analytics.actions import plans
from klaviyo_analytics.errors import ConflictError, KlaviyoMCPError


def _plan(*refs: dict[str, str]) -> list[dict[str, object]]:
    first = plans.step("make", "make it", "POST", "/api/lists", returns={"id": "id"})
    return [first, *(plans.step(f"use_{i}", "use it", "POST", "/api/x", body={"id": r}) for i, r in enumerate(refs))]


def test_references_must_name_what_an_earlier_step_returns() -> None:
    plans.check_refs(_plan(plans.ref("make")))
    with pytest.raises(KlaviyoMCPError, match=r"needs 'make\.message_id'"):
        plans.check_refs(_plan(plans.ref("make", "message_id")))
    with pytest.raises(KlaviyoMCPError, match=r"needs 'use_1\.id'"):
        plans.check_refs(_plan(plans.ref("use_1"), plans.ref("make")))  # a later step


def test_references_resolve_from_the_journal_and_never_to_nothing() -> None:
    value = {"data": [{"type": "profile", "id": plans.ref("make")}], "n": 1}
    assert plans.resolve(value, {"make": {"id": "P1"}}) == {"data": [{"type": "profile", "id": "P1"}], "n": 1}
    with pytest.raises(ConflictError, match="no journaled 'id'"):
        plans.resolve(value, {"make": {"id": None}})


@pytest.mark.parametrize("bad", ["../accounts", "a/b", "", None, 7, "x?y=1"])
def test_paths_take_ids_only(bad: object) -> None:
    assert plans.render_path("/api/lists/{list_id}/relationships/profiles", {"list_id": "Ab1"}) == (
        "/api/lists/Ab1/relationships/profiles"
    )
    with pytest.raises(ConflictError, match="not a Klaviyo id"):
        plans.render_path("/api/lists/{list_id}", {"list_id": bad})


def test_dotted_reads() -> None:
    resource = {"id": "C1", "relationships": {"campaign-messages": {"data": [{"id": "M1"}]}}}
    returns = {"id": "id", "message_id": "relationships.campaign-messages.data.0.id", "gone": "a.b.3"}
    assert plans.extract(returns, resource) == {"id": "C1", "message_id": "M1", "gone": None}
    assert plans.dig(resource, "relationships.campaign-messages.data.1.id") is None


def test_name_filters_quote_safely() -> None:
    assert plans.name_filter('VIP "gold" ≥ 300') == 'equals(name,["VIP \\"gold\\" ≥ 300"])'

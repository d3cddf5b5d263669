"""Partial size answers that resume (tools/resume.py): each call sends only what is new."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.render.text import render_result
from klaviyo_analytics.tools import get_tool, run_tool
from tests.lists.conftest import World, add_lists

HEALTH = "klaviyo_get_list_health"


def ask(world: World, args: dict[str, Any], seconds: float = 45) -> dict[str, Any]:
    return run_tool(get_tool(HEALTH), world.svc, args, world.ctx(seconds))


def until_complete(world: World, resume: bool) -> list[dict[str, Any]]:
    """Ask, wait as told, ask again (with the token, if ``resume``) until nothing is pending."""
    answers = [ask(world, {})]
    for _ in range(10):
        metadata = answers[-1]["metadata"]
        if not answers[-1]["data"]["pending"]:
            return answers
        world.clock.sleep(metadata["retry_after_seconds"])
        answers.append(ask(world, {"resume": metadata["resume"]} if resume else {}))
    raise AssertionError("never completed")


def test_each_resumed_call_sends_only_the_rows_sized_since_and_the_last_says_complete(world: World) -> None:
    add_lists(world, 38)  # 50 lists: four calls at 15 sizes a minute
    whole = until_complete(world, resume=False)[-1]["data"]
    world.svc.client.cache.clear()
    world.clock.sleep(120)  # every window from the first run closed
    answers = until_complete(world, resume=True)
    assert len(answers) >= 3
    first, *later = answers
    assert first["metadata"]["partial"] is True and first["metadata"]["resume"]
    assert len(first["data"]["lists"]) == 50  # the first answer is the whole table, as before
    delivered = {r["list_id"]: r for r in first["data"]["lists"] if r["list_id"] not in first["data"]["pending"]}
    for before, answer in zip(answers, later, strict=False):
        rows = answer["data"]["lists"]
        assert {r["list_id"] for r in rows} == set(before["data"]["pending"]) - set(answer["data"]["pending"])
        assert not set(delivered) & {r["list_id"] for r in rows}, "a row was sent twice"
        delivered.update({r["list_id"]: r for r in rows})
        # The totals and warnings describe the whole table, not the delta.
        assert answer["data"]["list_count"] == 50
        assert answer["data"]["total_profiles"] == sum(r["profile_count"] or 0 for r in delivered.values())
    last = answers[-1]
    assert last["metadata"]["complete"] is True and "resume" not in last["metadata"]
    assert last["metadata"]["partial"] is False
    assert delivered == {r["list_id"]: r for r in whole["lists"]}
    assert last["data"]["total_profiles"] == whole["total_profiles"]


def test_resumed_answers_send_far_fewer_bytes_to_the_model(world: World) -> None:
    add_lists(world, 38)
    full = sum(len(render_result(a)) for a in until_complete(world, resume=False))
    world.svc.client.cache.clear()
    world.clock.sleep(120)
    resumed = sum(len(render_result(a)) for a in until_complete(world, resume=True))
    assert resumed < full * 0.6, (resumed, full)


def test_the_text_shows_pending_rows_as_ids_and_a_count(world: World) -> None:
    add_lists(world, 38)
    first = ask(world, {})
    pending = first["data"]["pending"]
    assert pending
    text = render_result(first)
    named = [r["name"] for r in first["data"]["lists"] if r["list_id"] in pending]
    assert not any(f'"name":"{name}"' in text for name in named)
    assert f'"pending_count":{len(pending)}' in text and all(p in text for p in pending)
    assert len(first["data"]["lists"]) == 50  # the structured content keeps every row
    world.clock.sleep(first["metadata"]["retry_after_seconds"])
    second = ask(world, {"resume": first["metadata"]["resume"]})
    still = second["data"]["pending"]
    assert still and not any(p in render_result(second) for p in still)  # their ids came in the first answer
    assert f'"pending_count":{len(still)}' in render_result(second)


@pytest.mark.parametrize("args", [{"resume": "notatokenatall"}, {"resume": "x" * 7}])
def test_an_unknown_or_malformed_token_is_invalid_naming_the_field(world: World, args: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        ask(world, args)
    assert caught.value.details["field"] == "resume"


def test_a_token_is_bound_to_the_arguments_it_was_given_for(world: World) -> None:
    add_lists(world, 38)
    token = ask(world, {})["metadata"]["resume"]
    one = ask(world, {})["data"]["lists"][0]["list_id"]
    with pytest.raises(InvalidArgumentError) as caught:
        ask(world, {"resume": token, "list_id": one})
    assert "resume" in caught.value.message


def test_pending_rows_of_other_tools_keep_their_figures_in_the_text() -> None:
    row = {"list_id": "L1", "name": "News", "profile_count": None, "subscribed": 12, "unsubscribed": 3, "net": 9}
    envelope = {"data": {"lists": [row], "pending": ["L1"]}, "metadata": {"partial": True}, "warnings": []}
    assert '"subscribed":12' in render_result(envelope)  # list breakdown: no resume, rows kept whole
    envelope["metadata"]["resume"] = "abcdefghijkl"
    assert '"subscribed":12' not in render_result(envelope)

"""List sizes: paced at 1/s and 15/min, stopped before the deadline, resumed from cache, degraded per list."""

from __future__ import annotations

import pytest

from klaviyo_analytics.errors import NotFoundError
from klaviyo_analytics.schemas.lists import ListHealthParams
from klaviyo_analytics.service.lists import get_list_health
from klaviyo_analytics.service.sizes import REQUEST_MARGIN_SECONDS
from klaviyo_sandbox import FaultConfig, Sandbox
from tests.helpers import jsonapi
from tests.lists.conftest import World, add_lists


def max_in_window(times: list[float], window: float) -> int:
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


def test_fifty_lists_never_exceed_one_size_call_a_second_or_fifteen_a_minute(world: World) -> None:
    add_lists(world, 38)  # the seeded account has 12
    result = get_list_health(world.svc, ListHealthParams(), world.ctx(10_000))

    assert result.data.list_count == 50
    assert all(row.profile_count is not None for row in result.data.lists)
    assert result.data.pending == [] and result.extra_metadata["partial"] is False
    sizes = world.recorder.size_calls()
    assert len(sizes) == 50
    times = [c.at for c in sizes]
    assert max_in_window(times, 1.0) == 1
    assert max_in_window(times, 60.0) == 15
    assert all(c.status == 200 for c in world.recorder.calls)  # the sandbox never had to say 429
    # Progress is reported per list, against the number of lists.
    assert [(done, total) for done, total, _ in world.progress] == [(i, 50) for i in range(1, 51)]


def test_deadline_stops_early_and_repeat_calls_complete_from_cache(world: World) -> None:
    add_lists(world, 38)
    started = world.clock()
    first = get_list_health(world.svc, ListHealthParams(), world.ctx(45))

    fetched = {r.list_id for r in first.data.lists if r.profile_count is not None}
    assert 10 <= len(fetched) <= 15  # one minute's quota at most
    assert set(first.data.pending) == {r.list_id for r in first.data.lists} - fetched
    assert first.extra_metadata["partial"] is True
    assert first.extra_metadata["retry_after_seconds"] > 0
    assert world.clock() - started <= 45  # stopped before the deadline instead of waiting past it
    assert any("Call again" in w and "cached" in w for w in first.warnings)
    assert first.data.total_profiles == sum(r.profile_count or 0 for r in first.data.lists)

    requested = [c.path for c in world.recorder.size_calls()]
    result = first
    for _ in range(6):
        if not result.data.pending:
            break
        world.clock.sleep(result.extra_metadata["retry_after_seconds"])
        world.recorder.calls.clear()
        result = get_list_health(world.svc, ListHealthParams(), world.ctx(45))
        again = [c.path for c in world.recorder.size_calls()]
        assert not set(again) & set(requested), "a size already fetched was fetched again"
        requested += again

    assert result.data.pending == [] and result.extra_metadata["partial"] is False
    assert all(r.profile_count is not None for r in result.data.lists)
    assert len(requested) == len(set(requested)) == 50
    assert not any("Call again" in w for w in result.warnings)


def test_cached_sizes_are_served_without_waiting(world: World) -> None:
    add_lists(world, 3)  # 15 lists: exactly one minute's quota of size lookups
    complete = get_list_health(world.svc, ListHealthParams(), world.ctx(10_000))
    assert complete.data.pending == []
    # The minute's size quota is spent: anything not cached would wait ~45 s, past this 5 s deadline.
    world.recorder.calls.clear()
    world.clock.sleeps.clear()
    again = get_list_health(world.svc, ListHealthParams(), world.ctx(5))
    assert again.data == complete.data
    assert world.recorder.size_calls() == []
    assert world.clock.sleeps == []


def test_no_lookup_starts_too_close_to_the_deadline(world: World) -> None:
    started = world.clock()
    result = get_list_health(world.svc, ListHealthParams(), world.ctx(5))
    assert result.data.pending
    times = [c.at - started for c in world.recorder.size_calls()]
    assert times and max(times) <= 5 - REQUEST_MARGIN_SECONDS  # time is left for the request itself


def test_sizes_outlive_the_ordinary_cache(world: World) -> None:
    get_list_health(world.svc, ListHealthParams(), world.ctx(10_000))
    world.clock.sleep(world.svc.settings.cache_ttl_seconds + 60)  # past the 300 s TTL, within the size TTL
    world.recorder.calls.clear()
    get_list_health(world.svc, ListHealthParams(), world.ctx(45))
    assert world.recorder.to("/api/lists")  # the enumeration was fetched again
    assert world.recorder.size_calls() == []  # the sizes were not
    world.clock.sleep(world.svc.settings.list_size_cache_ttl_seconds)
    get_list_health(world.svc, ListHealthParams(), world.ctx(10_000))
    assert len(world.recorder.size_calls()) == 12  # and they do expire


@pytest.mark.parametrize(
    ("how", "code"),
    [("not_found", "NOT_FOUND"), ("server_error", "UPSTREAM_ERROR")],
)
def test_one_failed_lookup_leaves_that_size_null(world: World, sandbox: Sandbox, how: str, code: str) -> None:
    lists = get_list_health(world.svc, ListHealthParams(), world.ctx(10_000)).data.lists
    victim = lists[3].list_id
    world.svc.client.cache.clear()
    if how == "not_found":
        world.recorder.answers[f"/api/lists/{victim}"] = lambda r: jsonapi(
            {"errors": [{"code": "not_found", "detail": "gone"}]}, status=404
        )
    else:
        sandbox.set_faults(FaultConfig(error_rate=1.0, only_paths=(f"/api/lists/{victim}",)))

    result = get_list_health(world.svc, ListHealthParams(), world.ctx(10_000))
    rows = {r.list_id: r for r in result.data.lists}
    assert rows[victim].profile_count is None and rows[victim].name == lists[3].name
    assert all(r.profile_count is not None for i, r in rows.items() if i != victim)
    assert result.data.pending == []
    assert any(victim in w and code in w for w in result.warnings)


def test_429_storm_past_the_deadline_leaves_sizes_pending(world: World, sandbox: Sandbox) -> None:
    # Klaviyo answers 429 with Retry-After 120: the client cannot retry within the deadline.
    storm = FaultConfig(storm=1.0, storm_length=100, storm_retry_after=120.0, only_paths=("/api/lists/",))
    sandbox.set_faults(storm)
    result = get_list_health(world.svc, ListHealthParams(), world.ctx(45))
    assert len(result.data.pending) == result.data.list_count == 12
    assert all(r.profile_count is None for r in result.data.lists)
    assert result.extra_metadata["partial"] is True
    assert len(world.recorder.size_calls()) == 1  # one refusal; the others were not even tried


def test_one_list_by_id(world: World) -> None:
    everything = get_list_health(world.svc, ListHealthParams(), world.ctx(10_000)).data.lists
    world.svc.client.cache.clear()
    world.recorder.calls.clear()
    target = everything[5]
    result = get_list_health(world.svc, ListHealthParams(list_id=target.list_id), world.ctx(45))
    assert result.data.lists == [target] and result.data.total_profiles == target.profile_count
    assert [c.path for c in world.recorder.size_calls()] == [f"/api/lists/{target.list_id}"]


def test_unknown_list_id_is_not_found_naming_the_field(world: World) -> None:
    with pytest.raises(NotFoundError) as caught:
        get_list_health(world.svc, ListHealthParams(list_id="NoSuchList"), world.ctx(45))
    assert caught.value.details["field"] == "list_id"


def test_size_lookups_use_the_profile_count_variant(world: World) -> None:
    get_list_health(world.svc, ListHealthParams(), world.ctx(10_000))
    call = world.recorder.size_calls()[0]
    assert call.params == {"additional-fields[list]": "profile_count"}
    enumeration = world.recorder.to("/api/lists")[0]
    assert enumeration.params["page[size]"] == "10"
    assert enumeration.params["fields[list]"] == "name,opt_in_process,created,updated"

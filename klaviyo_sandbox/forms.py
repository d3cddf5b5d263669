"""Signup forms: seeded forms and versions, the events behind their reports, and the form reports.

Every account holds the same five forms (names, types and lists below); their numbers are drawn
from a random stream of their own, so adding forms changed no other seeded object or event. A
form's statistics are stored per version and per hour (``EventIndex.form_stats``), like the
message streams, so ``/api/form-values-reports`` and ``/api/form-series-reports`` agree for any
window. Submits feed list growth: each submit by a new subscriber is also a ``Subscribed to List``
event on the form's list, with a ``form_id`` dimension (a metric-aggregates ``by`` the spec
lists), so "list growth from this form" reconciles with the list's own growth.

What the spec leaves silent and the sandbox chooses: ``submit_rate`` is ``submits`` over
``viewed_form_uniques`` (Klaviyo's help centre defines it per unique viewer); ``qualified_form``
counts visitors who met the targeting, at least as many as viewed; a draft form has no events.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from klaviyo_sandbox import filters, timeframes
from klaviyo_sandbox.ids import IdFactory
from klaviyo_sandbox.jsonapi import ApiError, invalid, relationship, resource
from klaviyo_sandbox.models import Account, Form, FormVersion
from klaviyo_sandbox.reports import buckets as report_buckets
from klaviyo_sandbox.series import HOUR, Series

SUBSCRIBED_TO_LIST = "Subscribed to List"
COUNT_STATS = (
    "viewed_form",
    "viewed_form_uniques",
    "qualified_form",
    "qualified_form_uniques",
    "closed_form",
    "closed_form_uniques",
    "submits",
    "submitted_form_step",
    "submitted_form_step_uniques",
    "viewed_form_step",
    "viewed_form_step_uniques",
)
FILTERS = {
    name: {"operators": {"single": ["equals"], "list": ["any"]}, "value": {"type": "string"}}
    for name in ("form_id", "form_version_id")
}


@dataclass(frozen=True)
class _Plan:
    name: str
    form_type: str
    list_name: str
    status: str
    # Per live version: (variation name, daily unique viewers, submit rate)
    versions: tuple[tuple[str, float, float], ...]
    steps: int = 1


# The seeded forms: an A/B-tested popup whose variant B converts clearly better, an embed, a
# weak flyout, a banner, and a draft that never ran.
PLANS: tuple[_Plan, ...] = (
    _Plan("Welcome Popup – 10% Off", "popup", "Popup Signups", "live", (("A", 420.0, 0.032), ("B", 420.0, 0.048)), 2),
    _Plan("Footer Signup", "embed", "Newsletter", "live", (("Default", 260.0, 0.021),)),
    _Plan("Exit Intent Flyout", "flyout", "Popup Signups", "live", (("Default", 180.0, 0.009),)),
    _Plan("Back in Stock Banner", "banner", "Back in Stock Requests", "live", (("Default", 90.0, 0.06),)),
    _Plan("Black Friday Teaser", "full_page", "Newsletter", "draft", (("Default", 0.0, 0.0),)),
)
_SLOTS = (11, 15, 20)  # UTC hours a day's form traffic is spread over


def seed_forms(account: Account, world_seed: int, start: datetime, end: datetime) -> None:
    """Add the seeded forms and their events to ``account`` (after its other events exist)."""
    rng = random.Random(f"{world_seed}:{account.seed.slug}:forms")
    ids = IdFactory(random.Random(f"{world_seed}:{account.seed.slug}:form-ids"))
    lists = {rec.name for rec in account.lists.values()}
    for n, plan in enumerate(PLANS):
        created = start - timedelta(days=60 - 9 * n)
        form = Form(ids.short(), plan.name, plan.status, len(plan.versions) > 1, created, created, [], plan.list_name)
        account.forms[form.id] = form
        for variation, _daily, _rate in plan.versions:
            ab = {"variation_name": variation} if form.ab_test else None
            version = FormVersion(ids.numeric(), form.id, plan.form_type, variation, plan.status, ab, created, created)
            account.form_versions[version.id] = version
            form.version_ids.append(version.id)
        if plan.status == "live" and plan.list_name in lists:
            _events(account, rng, form, plan, start, end)


def _events(account: Account, rng: random.Random, form: Form, plan: _Plan, start: datetime, end: datetime) -> None:
    index = account.events
    versions = [
        ({name: index.form_stats.setdefault((vid, name), Series()) for name in COUNT_STATS}, daily, rate)
        for vid, (_variation, daily, rate) in zip(form.version_ids, plan.versions, strict=True)
    ]
    subscribed_metric = account.metric_id(SUBSCRIBED_TO_LIST)
    subscribed = index.stream(subscribed_metric, {"List": form.list_name, "form_id": form.id})
    first_hour = int(start.timestamp()) // HOUR
    for day in range((end - start).days):
        weekly = 1.0 + 0.2 * ((start + timedelta(days=day)).weekday() >= 5)
        for slot in _SLOTS:
            hour = first_hour + 24 * day + slot
            new = 0
            for streams, daily, rate in versions:
                viewers = round(daily * weekly * rng.uniform(0.6, 1.4) / len(_SLOTS))
                submits = binomial(rng, viewers, rate)
                for name, value in _row(rng, viewers, submits, plan.steps).items():
                    streams[name].add(hour, value)
                new += binomial(rng, submits, 0.85)  # the rest were already subscribed
            subscribed.add(hour + 1, new, new)


def binomial(rng: random.Random, n: int, p: float) -> int:
    """Successes in ``n`` trials of chance ``p``, exactly binomial, drawn by the gaps between
    successes (geometric): about n·min(p, 1-p) draws instead of n. The sandbox is built in every
    test process, under coverage's tracer too, where a draw per viewer was half the build."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p > 0.5:
        return n - binomial(rng, n, 1.0 - p)
    log_q = math.log1p(-p)
    successes, position = 0, 0
    while True:
        position += int(math.log(1.0 - rng.random()) / log_q) + 1  # 1 - random() is in (0, 1]
        if position > n:
            return successes
        successes += 1


def _row(rng: random.Random, viewers: int, submits: int, steps: int) -> dict[str, int]:
    """One hour of one version: ``viewers`` unique viewers of whom ``submits`` submitted."""
    views = viewers + round(viewers * rng.uniform(0.1, 0.3))
    qualified = viewers + round(viewers * rng.uniform(0.1, 0.25))
    closed = round((viewers - submits) * rng.uniform(0.5, 0.7))
    step_viewers = viewers if steps == 1 else viewers + submits
    return {
        "viewed_form": views,
        "viewed_form_uniques": viewers,
        "qualified_form": qualified + round(qualified * 0.1),
        "qualified_form_uniques": qualified,
        "closed_form": closed + round(closed * 0.05),
        "closed_form_uniques": closed,
        "submits": submits,
        "submitted_form_step": submits * steps,
        "submitted_form_step_uniques": submits,
        "viewed_form_step": step_viewers + round(step_viewers * 0.1),
        "viewed_form_step_uniques": step_viewers,
    }


# -- resources -----------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.isoformat()


def _form_fields(form: Form) -> dict[str, Any]:
    return {
        "name": form.name,
        "status": form.status,
        "ab_test": form.ab_test,
        "created_at": _iso(form.created_at),
        "updated_at": _iso(form.updated_at),
    }


def form_resource(account: Account, form: Form, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = _form_fields(form)
    path = f"/api/forms/{form.id}"
    rels = {"form-versions": relationship("form-version", form.version_ids, base, path, "form-versions")}
    return resource("form", form.id, attributes, base, f"{path}/", rels)


def encoded_form_resource(account: Account, form: Form, base: str) -> dict[str, Any]:
    """``GET /api/forms/{id}`` answers the encoded form: its ``definition`` lists the versions
    (as the spec's ``Version``: steps required; the sandbox keeps no steps, so the list is empty)."""
    versions = [account.form_versions[v] for v in form.version_ids]
    definition = {
        "versions": [
            {
                "id": int(v.id), "name": v.variation_name, "steps": [], "status": v.status, "ab_test": form.ab_test,
                "type": "full_screen" if v.form_type == "full_page" else v.form_type, "channel": "WEB",
            }
            for v in versions
        ]
    }  # fmt: skip
    attributes = {**_form_fields(form), "definition": definition}
    return {"type": "form", "id": form.id, "attributes": attributes, "links": {"self": f"{base}/api/forms/{form.id}/"}}


def form_version_resource(account: Account, version: FormVersion, base: str, extras: frozenset[str]) -> dict[str, Any]:
    attributes = {
        "form_type": version.form_type,
        "variation_name": version.variation_name,
        "ab_test": version.ab_test,
        "status": version.status,
        "created_at": _iso(version.created_at),
        "updated_at": _iso(version.updated_at),
    }
    path = f"/api/form-versions/{version.id}"
    rels = {"form": relationship("form", version.form_id, base, path, "form")}
    return resource("form-version", version.id, attributes, base, f"{path}/", rels)


VIEWS: dict[str, Callable[[Account, Any], dict[str, Any]]] = {
    "form": lambda a, f: {
        "id": f.id,
        "name": f.name,
        "status": f.status,
        "ab_test": f.ab_test,
        "created_at": f.created_at,
        "updated_at": f.updated_at,
    },
    "form-version": lambda a, v: {
        "id": v.id,
        "form_type": v.form_type,
        "status": v.status,
        "created_at": v.created_at,
        "updated_at": v.updated_at,
    },
}


# -- reports -------------------------------------------------------------------------------------


def _group_by(attrs: dict[str, Any]) -> list[str]:
    group_by = list(dict.fromkeys(attrs.get("group_by") or ["form_id"]))
    if "form_version_id" in group_by and "form_id" not in group_by:
        raise invalid(
            "form_version_id must be grouped together with its prerequisite form_id.",
            pointer="/data/attributes/group_by",
        )
    return group_by


def _conditions(raw: Any) -> list[filters.Condition]:
    if raw is None:
        return []
    pointer = "/data/attributes/filter"
    if not isinstance(raw, str):
        raise invalid("filter must be a string.", pointer=pointer)
    try:
        conds = filters.check(filters.parse(raw), FILTERS, max_items=100)
    except ApiError as exc:
        raise invalid(exc.detail, pointer=pointer) from exc
    fields = [c.field for c in conds]
    if len(set(fields)) != len(fields):
        raise invalid("Only one filter per attribute is allowed.", pointer=pointer)
    return conds


def _rate(counts: dict[str, int]) -> float:
    viewers = counts["viewed_form_uniques"]
    return round(counts["submits"] / viewers, 6) if viewers else 0.0


def form_report(account: Account, attrs: dict[str, Any], now: datetime, interval: str | None) -> dict[str, Any]:
    """Form values (``interval`` None) or series: the report's ``attributes``."""
    tz = ZoneInfo(account.seed.timezone)
    start, end = timeframes.resolve(attrs.get("timeframe"), tz, now)
    group_by = _group_by(attrs)
    conds = _conditions(attrs.get("filter"))
    stats = list(attrs["statistics"])
    if not stats:
        raise invalid("statistics must name at least one statistic.", pointer="/data/attributes/statistics")
    dates, bounds = report_buckets(start, end, interval)
    groups: dict[tuple[str, ...], tuple[dict[str, str], list[dict[str, int]]]] = {}
    for version in account.form_versions.values():
        grouping = {"form_id": version.form_id, "form_version_id": version.id}
        if conds and not filters.matches(conds, grouping.__getitem__):
            continue
        buckets = [dict.fromkeys(COUNT_STATS, 0) for _ in pairwise(bounds)]
        for name in COUNT_STATS:
            series = account.events.form_stats.get((version.id, name))
            if series is not None:
                for k, (count, _unique, _value) in enumerate(series.buckets(bounds)):
                    buckets[k][name] += count
        if not any(any(b.values()) for b in buckets):
            continue
        key = tuple(grouping[g] for g in group_by)
        entry = groups.setdefault(
            key, ({g: grouping[g] for g in group_by}, [dict.fromkeys(COUNT_STATS, 0) for _ in buckets])
        )
        for total, counts in zip(entry[1], buckets, strict=True):
            for name, value in counts.items():
                total[name] += value
    results = []
    for groupings, buckets in groups.values():
        computed = [{**b, "submit_rate": _rate(b)} for b in buckets]
        if interval is None:
            results.append({"groupings": groupings, "statistics": {s: computed[0][s] for s in stats}})
        else:
            results.append({"groupings": groupings, "statistics": {s: [c[s] for c in computed] for s in stats}})
    out: dict[str, Any] = {"results": results}
    if interval is not None:
        out["date_times"] = [timeframes.isoformat(d) for d in dates]
    return out

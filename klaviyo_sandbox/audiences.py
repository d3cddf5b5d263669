"""Writes to audiences: lists and their members, profiles, segments.

Choices where the spec is silent: a profile needs an email, phone number or external id;
emails are stored in lower case and matched case-insensitively; a phone number must be E.164
(the spec says so; Klaviyo refuses others with a 400); an id in a list-membership
body that is no profile is a 400. A profile that joins a list starts the list's live flows
(recorded, never sent: triggers.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from klaviyo_sandbox.handlers import Context, Reply, lookup, same_id, single
from klaviyo_sandbox.jsonapi import ApiError, invalid
from klaviyo_sandbox.models import ListRec, Profile, SegmentRec
from klaviyo_sandbox.triggers import record_list_joins

_PROFILE_FIELDS = (
    "email",
    "phone_number",
    "external_id",
    "first_name",
    "last_name",
    "organization",
    "locale",
    "title",
    "image",
    "location",
    "properties",
)
_IDENTIFIERS = ("email", "phone_number", "external_id")
# E.164, as the spec asks of every phone_number: "+", a country code, at most 15 digits in all.
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ATTR = "/data/attributes"


def create_list(ctx: Context) -> Reply:
    attrs = ctx.data["attributes"]
    if not isinstance(attrs["name"], str) or not attrs["name"].strip():
        raise invalid("name must be a non-empty string.", pointer=f"{_ATTR}/name")
    lid = ctx.account.ids.short()
    rec = ListRec(lid, attrs["name"], attrs.get("opt_in_process") or "single_opt_in", ctx.now, ctx.now, 0)
    ctx.account.lists[lid] = rec
    ctx.store.record(ctx.slug, "lists", id=lid, name=rec.name, opt_in_process=rec.opt_in_process)
    return single(ctx, "list", rec, 201)


def _membership(action: str) -> Callable[[Context], Reply]:
    def handler(ctx: Context) -> Reply:
        rec = lookup(ctx, ctx.account.lists, "list")
        if len(ctx.data) > 1000:
            raise invalid("At most 1000 profiles per request.", pointer="/data")
        ids = [item["id"] for item in ctx.data]
        for i, ident in enumerate(ids):
            if ident not in ctx.account.profiles:
                raise invalid(f"Profile {ident} does not exist.", pointer=f"/data/{i}/id")
        joined = [i for i in dict.fromkeys(ids) if i not in rec.members] if action == "added" else []
        (rec.members.update if action == "added" else rec.members.difference_update)(ids)
        record_list_joins(ctx.store, ctx.slug, ctx.account, rec.id, joined, via=ctx.op.operation_id)
        ctx.store.record(ctx.slug, "list_membership_changes", list_id=rec.id, action=action, profile_ids=ids)
        return 204, None

    return handler


def valid_phone(value: Any) -> bool:
    return isinstance(value, str) and _E164.match(value) is not None


def duplicate_profile(ctx: Context, attrs: dict[str, Any], exclude: str | None = None) -> Profile | None:
    for profile in ctx.account.profiles.values():
        if profile.id == exclude:
            continue
        for key in _IDENTIFIERS:
            mine, theirs = attrs.get(key), profile.attributes.get(key)
            if mine and theirs and str(mine).lower() == str(theirs).lower():
                return profile
    return None


def _profile_attrs(ctx: Context) -> dict[str, Any]:
    attrs = ctx.data.get("attributes") or {}
    email = attrs.get("email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        raise invalid(f"Invalid email address: {email!r}.", pointer=f"{_ATTR}/email")
    phone = attrs.get("phone_number")
    if phone is not None and not valid_phone(phone):
        raise invalid(
            f"Invalid phone number {phone!r}: use E.164 format, e.g. +15005550006.", pointer=f"{_ATTR}/phone_number"
        )
    out = {k: attrs[k] for k in _PROFILE_FIELDS if k in attrs}
    if email is not None:
        out["email"] = email.strip().lower()  # Klaviyo keeps emails in lower case
    return out


def new_profile(ctx: Context, attrs: dict[str, Any]) -> Profile:
    if not any(attrs.get(k) for k in _IDENTIFIERS):
        raise invalid("A profile needs an email, phone_number or external_id.", pointer=_ATTR)
    pid = ctx.account.ids.ulid(ctx.now)
    full = dict.fromkeys(_PROFILE_FIELDS) | {"last_event_date": None} | attrs
    profile = Profile(pid, full, ctx.now, ctx.now)
    ctx.account.profiles[pid] = profile
    ctx.store.record(ctx.slug, "profiles", id=pid, email=full.get("email"))
    return profile


def _profile_reply(ctx: Context, profile: Profile, status: int = 200) -> Reply:
    """A write's answer: the spec gives its profile the lists, segments and push-tokens
    relationships only (the GETs add conversations)."""
    status, doc = single(ctx, "profile", profile, status)
    assert doc is not None
    doc["data"].get("relationships", {}).pop("conversations", None)
    return status, doc


def _conflict(existing: Profile) -> ApiError:
    return ApiError(
        409,
        "duplicate_profile",
        "A profile already exists with one of these identifiers.",
        pointer=_ATTR,
        meta={"duplicate_profile_id": existing.id},
    )


def create_profile(ctx: Context) -> Reply:
    attrs = _profile_attrs(ctx)
    existing = duplicate_profile(ctx, attrs)
    if existing is not None:
        raise _conflict(existing)
    return _profile_reply(ctx, new_profile(ctx, attrs), 201)


def _apply_profile(ctx: Context, profile: Profile, attrs: dict[str, Any]) -> Reply:
    profile.attributes.update(attrs)
    profile.updated = ctx.now
    ctx.store.record(ctx.slug, "profile_updates", id=profile.id, attributes=attrs)
    return _profile_reply(ctx, profile)


def update_profile(ctx: Context) -> Reply:
    profile = lookup(ctx, ctx.account.profiles, "profile")
    same_id(ctx)
    attrs = _profile_attrs(ctx)
    existing = duplicate_profile(ctx, attrs, exclude=profile.id)
    if existing is not None:
        raise _conflict(existing)
    return _apply_profile(ctx, profile, attrs)


def create_or_update_profile(ctx: Context) -> Reply:
    attrs = _profile_attrs(ctx)
    ident = ctx.data.get("id")
    if ident is not None:
        if ident not in ctx.account.profiles:
            raise ApiError(404, "not_found", f"A profile with id {ident} does not exist.", pointer="/data/")
        existing: Profile | None = ctx.account.profiles[ident]
    else:
        existing = duplicate_profile(ctx, attrs)
    if existing is None:
        return _profile_reply(ctx, new_profile(ctx, attrs), 201)
    return _apply_profile(ctx, existing, attrs)


def create_segment(ctx: Context) -> Reply:
    attrs = ctx.data["attributes"]
    definition = attrs["definition"]
    groups = definition.get("condition_groups") if isinstance(definition, dict) else None
    if not isinstance(groups, list) or not groups:
        raise invalid("definition.condition_groups must hold at least one group.", pointer=f"{_ATTR}/definition")
    for i, group in enumerate(groups):
        if not isinstance(group, dict) or not isinstance(group.get("conditions"), list) or not group["conditions"]:
            raise invalid("Each condition group needs conditions.", pointer=f"{_ATTR}/definition/condition_groups/{i}")
    sid = ctx.account.ids.short()
    seg = SegmentRec(
        sid,
        str(attrs["name"]),
        definition,
        ctx.now,
        ctx.now,
        True,
        True,
        bool(attrs.get("is_starred", False)),
        initial_count=0,
    )
    ctx.account.segments[sid] = seg
    ctx.store.record(ctx.slug, "segments", id=sid, name=seg.name, definition=definition)
    return single(ctx, "segment", seg, 201)


find_profile = duplicate_profile
add_profiles = _membership("added")
remove_profiles = _membership("removed")

"""Bulk subscribe and unsubscribe jobs: consent, and what they do to list membership.

``POST /api/profile-subscription-bulk-create-jobs`` (at most 1000 profiles) and ``…-delete-jobs``
(at most 100) answer 202 with no body, as Klaviyo does. Klaviyo runs the job later; the sandbox
applies it before answering, so the next read sees it.

Subscribe: each profile is found by id, email or phone number, or created; the channels given
(``email``, ``sms``: ``consent: SUBSCRIBED``, the only value) become subscribed, lifting an
earlier unsubscribe. With a list: a single opt-in list gains the profiles, which starts its live
flows (triggers.py); a double opt-in list sends each a confirmation message instead (recorded in
``opt_in_confirmations``) and adds them once they confirm, which the sandbox does not emulate.
``historical_import: true`` needs ``consented_at`` in the past, bypasses double opt-in and the
"Added to List" flows; without it, ``consented_at`` is refused.

Unsubscribe: with a list, a profile on it is removed from it (a list unsubscribe); a profile not
on it is unsubscribed globally, as Klaviyo's reference warns. Without a list, every profile given
is unsubscribed globally. A profile no email or phone number finds is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klaviyo_sandbox.audiences import find_profile, new_profile, valid_phone
from klaviyo_sandbox.filters import parse_datetime
from klaviyo_sandbox.handlers import Context, Reply, lookup
from klaviyo_sandbox.jsonapi import invalid
from klaviyo_sandbox.models import ListRec, Profile
from klaviyo_sandbox.triggers import record_list_joins

_PROFILES = "/data/attributes/profiles/data"
_CHANNELS = ("email", "sms")
LIMITS = {"subscribe": 1000, "unsubscribe": 100}


def _list_of(ctx: Context) -> ListRec | None:
    ident = (((ctx.data.get("relationships") or {}).get("list") or {}).get("data") or {}).get("id")
    if ident is None:
        return None
    if not isinstance(ident, str):
        raise invalid("relationships.list.data.id must be a list id.", pointer="/data/relationships/list/data/id")
    rec: ListRec = lookup(ctx, ctx.account.lists, "list", ident)
    return rec


def _items(ctx: Context, action: str) -> list[tuple[int, dict[str, Any]]]:
    data = ((ctx.data.get("attributes") or {}).get("profiles") or {}).get("data")
    if not isinstance(data, list) or not data:
        raise invalid("profiles.data must list at least one profile.", pointer=_PROFILES)
    if len(data) > LIMITS[action]:
        raise invalid(f"At most {LIMITS[action]} profiles per {action} job.", pointer=_PROFILES)
    out = []
    for i, item in enumerate(data):
        attrs = item.get("attributes") if isinstance(item, dict) else None
        if not isinstance(item, dict) or item.get("type") != "profile" or not isinstance(attrs, dict):
            raise invalid("Each profile must be {'type': 'profile', 'attributes': {...}}.", pointer=f"{_PROFILES}/{i}")
        if not isinstance(attrs.get("subscriptions"), dict):
            raise invalid("subscriptions is required.", pointer=f"{_PROFILES}/{i}/attributes/subscriptions")
        phone = attrs.get("phone_number")
        if phone is not None and not valid_phone(phone):
            raise invalid(
                f"Invalid phone number {phone!r}: use E.164 format, e.g. +15005550006.",
                pointer=f"{_PROFILES}/{i}/attributes/phone_number",
            )
        out.append((i, {**attrs, "id": item.get("id")}))
    return out


def _channels(ctx: Context, i: int, attrs: dict[str, Any], wanted: str, historical: bool) -> dict[str, Any]:
    """{channel: consented_at or None} for the channels given, each checked."""
    found: dict[str, Any] = {}
    subs = attrs["subscriptions"]
    for channel in _CHANNELS:
        marketing = (subs.get(channel) or {}).get("marketing")
        if marketing is None:
            continue
        pointer = f"{_PROFILES}/{i}/attributes/subscriptions/{channel}/marketing"
        if not isinstance(marketing, dict) or marketing.get("consent") != wanted:
            raise invalid(f"marketing.consent must be {wanted!r}.", pointer=f"{pointer}/consent")
        identifier = "email" if channel == "email" else "phone_number"
        if not attrs.get(identifier) and not attrs.get("id"):
            raise invalid(f"{channel} consent needs the profile's {identifier}.", pointer=f"{_PROFILES}/{i}/attributes")
        found[channel] = _consented_at(ctx, marketing.get("consented_at"), historical, f"{pointer}/consented_at")
    if not found:
        raise invalid("Give email or sms marketing consent.", pointer=f"{_PROFILES}/{i}/attributes/subscriptions")
    return found


def _consented_at(ctx: Context, raw: Any, historical: bool, pointer: str) -> Any:
    if not historical:
        if raw is not None:
            raise invalid("consented_at is only allowed with historical_import: true.", pointer=pointer)
        return None
    try:
        moment = parse_datetime(raw) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None or moment >= ctx.now:
        raise invalid("historical_import needs consented_at, a datetime in the past.", pointer=pointer)
    return moment


def _profile(ctx: Context, i: int, attrs: dict[str, Any], create: bool) -> Profile | None:
    ident = attrs.get("id")
    if ident is not None:
        found: Profile | None = lookup(ctx, ctx.account.profiles, "profile", ident)
        return found
    keys = {k: attrs[k] for k in ("email", "phone_number") if attrs.get(k)}
    if "email" in keys:
        keys["email"] = str(keys["email"]).strip().lower()
    if not keys:
        raise invalid("A profile needs an id, email or phone_number.", pointer=f"{_PROFILES}/{i}/attributes")
    existing = find_profile(ctx, keys)
    if existing is None and create:
        existing = new_profile(ctx, keys)
    return existing


def subscribe(ctx: Context) -> Reply:
    attrs = ctx.data.get("attributes") or {}
    historical = bool(attrs.get("historical_import"))
    source = attrs.get("custom_source")
    rec = _list_of(ctx)
    checked = [(i, a, _channels(ctx, i, a, "SUBSCRIBED", historical)) for i, a in _items(ctx, "subscribe")]
    joined, confirming = [], []
    for i, item, channels in checked:
        profile = _profile(ctx, i, item, create=True)
        assert profile is not None
        for channel, consented_at in channels.items():
            profile.consent[channel] = {"consent": "SUBSCRIBED", "at": consented_at or ctx.now, "source": source}
        if rec is None or profile.id in rec.members:
            continue
        if rec.opt_in_process == "double_opt_in" and not historical:
            confirming.append(profile.id)
        else:
            rec.members.add(profile.id)
            joined.append(profile.id)
    ids = list(dict.fromkeys(joined + confirming))
    ctx.store.record(ctx.slug, "subscriptions", action="subscribe", list_id=rec.id if rec else None,
                     historical_import=historical, profile_ids=ids, joined=joined)  # fmt: skip
    for pid in confirming:
        ctx.store.record(ctx.slug, "opt_in_confirmations", list_id=rec.id if rec else None, profile_id=pid)
    if rec is not None and not historical:
        record_list_joins(ctx.store, ctx.slug, ctx.account, rec.id, joined, via=ctx.op.operation_id)
    return 202, None


def unsubscribe(ctx: Context) -> Reply:
    rec = _list_of(ctx)
    left, globally = [], []
    for i, item in _items(ctx, "unsubscribe"):
        channels = _channels(ctx, i, item, "UNSUBSCRIBED", historical=False)
        profile = _profile(ctx, i, item, create=False)
        if profile is None:
            continue
        if rec is not None and profile.id in rec.members:
            rec.members.discard(profile.id)
            left.append(profile.id)
            continue
        for channel in channels:
            profile.consent[channel] = {"consent": "UNSUBSCRIBED", "at": ctx.now, "source": None}
        globally.append(profile.id)
    ctx.store.record(ctx.slug, "subscriptions", action="unsubscribe", list_id=rec.id if rec else None,
                     left_list=left, unsubscribed_globally=globally)  # fmt: skip
    return 202, None


SUBSCRIPTION_HANDLERS: dict[str, Callable[[Context], Reply]] = {
    "bulk_subscribe_profiles": subscribe,
    "bulk_unsubscribe_profiles": unsubscribe,
}

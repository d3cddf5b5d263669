"""The seeded generator: accounts full of plausible Klaviyo objects, identical for a seed and anchor.

Objects come from here; the events behind the reports come from events.py. Everything is drawn
from ``random.Random`` streams keyed by (seed, account), so two sandboxes with the same seed,
size and anchor serve byte-identical data. Building is cached per (seed, size, anchor): a reset
or a second sandbox copies the pristine objects and shares the (read-only) event index.
"""

from __future__ import annotations

import copy
import gc
import random
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from klaviyo_sandbox import flowgen, forms
from klaviyo_sandbox.activity_data import seed_activity
from klaviyo_sandbox.catalog import FIRST_NAMES, LAST_NAMES, LIST_NAMES, METRIC_CATALOG, SEGMENT_NAMES, THEMES
from klaviyo_sandbox.config import ACCOUNT_SEEDS, AccountSeed, Size
from klaviyo_sandbox.events import DATA_DAYS, generate_events
from klaviyo_sandbox.ids import IdFactory
from klaviyo_sandbox.models import (
    Account,
    Campaign,
    CampaignMessage,
    ListRec,
    Metric,
    Profile,
    SegmentRec,
    Template,
)

COUNTS: dict[Size, dict[str, int]] = {
    "small": {"lists": 12, "campaigns": 40, "flows": 10, "segments": 8, "profiles": 60, "templates": 8},
    "large": {"lists": 200, "campaigns": 500, "flows": 60, "segments": 40, "profiles": 400, "templates": 40},
}


def _iso_local(day: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tz).astimezone(UTC)


def _metrics(account: Account) -> None:
    for name, integration in METRIC_CATALOG:
        created = account.created + timedelta(days=len(account.metrics))
        mid = account.ids.short()
        account.metrics[mid] = Metric(mid, name, dict(integration), created, created)


def _templates(account: Account, rng: random.Random, n: int) -> None:
    for i in range(n):
        created = account.created + timedelta(days=30 + 11 * i)
        tid = account.ids.ulid(created)
        name = f"{THEMES[i % len(THEMES)]} Template" + (f" {i // len(THEMES) + 1}" if i >= len(THEMES) else "")
        editor = "CODE" if rng.random() < 0.5 else "USER_DRAGGABLE"
        html = f"<html><body><h1>{name}</h1><p>{{{{ first_name|default:'there' }}}}</p></body></html>"
        account.templates[tid] = Template(tid, name, editor, html, None, None, None, created, created)


def _profiles(account: Account, rng: random.Random, n: int, end: datetime) -> None:
    for i in range(n):
        first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i * 7 + i // len(FIRST_NAMES)) % len(LAST_NAMES)]
        created = end - timedelta(days=rng.randrange(1, 900), hours=rng.randrange(24))
        pid = account.ids.ulid(created)
        phone = f"+1555{rng.randrange(1000000, 9999999)}" if rng.random() < 0.4 else None
        attributes: dict[str, Any] = {
            "email": f"{first}.{last}{i}@example.com".lower(),
            "phone_number": phone,
            "external_id": None,
            "first_name": first,
            "last_name": last,
            "organization": None,
            "locale": account.seed.locale,
            "title": None,
            "image": None,
            "location": {"city": None, "country": None, "region": None, "zip": None, "timezone": account.seed.timezone},
            "properties": {"Favorite Category": rng.choice(("Outdoor", "Kitchen", "Garden", "Apparel"))},
            "last_event_date": None,
        }
        account.profiles[pid] = Profile(pid, attributes, created, created)


def _lists(account: Account, rng: random.Random, n: int) -> None:
    profiles = list(account.profiles)
    for i in range(n):
        created = account.created + timedelta(days=5 + 17 * i % 500)
        name = LIST_NAMES[i] if i < len(LIST_NAMES) else f"Imported List {i + 1:03d}"
        opt_in = "double_opt_in" if rng.random() < 0.35 else "single_opt_in"
        size = rng.randrange(2_000, 30_000) if i < 3 else rng.randrange(100, 6_000)
        lid = account.ids.short()
        members = set(rng.sample(profiles, k=min(len(profiles), rng.randrange(3, 25))))
        account.lists[lid] = ListRec(lid, name, opt_in, created, created, size, members, subscribed_metric_dim=name)


def _segment_definition(i: int, account: Account) -> dict[str, Any]:
    placed = account.metric_id("Placed Order")
    kinds: list[dict[str, Any]] = [
        {
            "type": "profile-metric",
            "metric_id": account.metric_id("Opened Email"),
            "measurement": "count",
            "measurement_filter": {"type": "numeric", "operator": "greater-than-or-equal", "value": 1},
            "timeframe_filter": {"type": "date", "operator": "in-the-last", "unit": "day", "quantity": 90},
            "metric_filters": None,
        },
        {
            "type": "profile-metric",
            "metric_id": placed,
            "measurement": "count",
            "measurement_filter": {"type": "numeric", "operator": "greater-than-or-equal", "value": 2},
            "timeframe_filter": {"type": "date", "operator": "alltime"},
            "metric_filters": None,
        },
        {
            "type": "profile-marketing-consent",
            "consent": {
                "channel": "email",
                "can_receive_marketing": True,
                "consent_status": {"subscription": "subscribed", "filters": None},
            },
        },
        {"type": "profile-group-membership", "is_member": True, "group_ids": [next(iter(account.lists))]},
    ]
    return {"condition_groups": [{"conditions": [kinds[i % len(kinds)]]}]}


def _segments(account: Account, rng: random.Random, n: int) -> None:
    for i in range(n):
        created = account.created + timedelta(days=40 + 23 * i % 600)
        name = SEGMENT_NAMES[i] if i < len(SEGMENT_NAMES) else f"Segment {i + 1:03d}"
        sid = account.ids.short()
        account.segments[sid] = SegmentRec(
            sid,
            name,
            _segment_definition(i, account),
            created,
            created,
            True,
            False,
            i % 3 == 0,
            initial_count=rng.randrange(500, 12_000),
        )


def _campaigns(account: Account, rng: random.Random, n: int, start: datetime, end: datetime) -> None:
    tz = ZoneInfo(account.seed.timezone)
    lists, segments = list(account.lists), list(account.segments)
    templates = list(account.templates)
    sent = n - 4  # the last four: two drafts, a scheduled one and a cancelled one
    span = (end - start).days - 35
    for i in range(n):
        channel = "sms" if i % 5 == 3 else "email"
        theme = THEMES[rng.randrange(len(THEMES))]
        if i < sent:
            day = (start + timedelta(days=30 + span * i // max(1, sent) + rng.randrange(3))).date()
            send_time: datetime | None = _iso_local(day, rng.choice((9, 10, 11, 14, 18)), tz)
            status = "Sent"
        elif i < n - 2:
            day = (end + timedelta(days=3 + i % 4)).date()
            send_time = _iso_local(day, 10, tz)
            status = "Scheduled" if i == sent else "Cancelled"
        else:
            day, send_time, status = (end - timedelta(days=2 + i % 3)).date(), None, "Draft"
        name = f"{theme} – {day:%b %d %Y}" + (" (SMS)" if channel == "sms" else "")
        created = (send_time or datetime.combine(day, time(12), UTC)) - timedelta(days=rng.randrange(2, 9))
        cid = account.ids.ulid(created)
        mid = account.ids.ulid(created + timedelta(seconds=1))
        audience = [lists[2]] if channel == "sms" else [lists[0]] + ([segments[0]] if i % 4 == 0 else [])
        strategy: dict[str, Any] = (
            {"method": "static", "datetime": send_time.isoformat(), "options": {"is_local": False}}
            if send_time
            else {"method": "immediate"}
        )
        tracking = (
            {"add_tracking_params": False, "custom_tracking_params": None}
            if channel == "sms"
            else {
                "add_tracking_params": True,
                "custom_tracking_params": None,
                "is_tracking_clicks": True,
                "is_tracking_opens": True,
            }
        )
        account.campaigns[cid] = Campaign(
            id=cid,
            name=name,
            status=status,
            archived=status == "Sent" and i < sent // 8,
            audiences={"included": audience, "excluded": [segments[4 % len(segments)]] if i % 3 == 0 else []},
            send_options={"use_smart_sending": True},
            tracking_options=tracking,
            send_strategy=strategy,
            created_at=created,
            updated_at=send_time or created,
            scheduled_at=send_time - timedelta(hours=20) if send_time else None,
            send_time=send_time,
            message_ids=[mid],
            channel=channel,
        )
        account.messages[mid] = CampaignMessage(
            id=mid,
            campaign_id=cid,
            definition=_message_definition(account, channel, name, theme, rng),
            send_times=[{"datetime": send_time.isoformat(), "is_local": False}] if send_time else [],
            template_id=templates[i % len(templates)] if channel == "email" else None,
            created_at=created,
            updated_at=send_time or created,
        )


def _message_definition(account: Account, channel: str, label: str, theme: str, rng: random.Random) -> dict[str, Any]:
    org = account.seed.label
    if channel == "sms":
        offer = rng.choice(("20% off", "free shipping", "new drops"))
        body = f"{org}: {theme}! Tap to shop {offer}. Reply STOP to opt out."
        render = {"shorten_links": True, "add_org_prefix": True, "add_info_link": True, "add_opt_out_language": False}
        return {"channel": "sms", "content": {"body": body, "media_url": None}, "render_options": render}
    content = {
        "subject": f"{theme} {rng.choice(('is here', 'starts now', 'inside', '— just for you'))}",
        "preview_text": f"{rng.choice(('Limited time', 'Our picks', 'You asked, we listened'))}.",
        "from_email": f"hello@{account.seed.domain}",
        "from_label": org,
        "reply_to_email": f"support@{account.seed.domain}",
        "cc_email": None,
        "bcc_email": None,
    }
    return {"channel": "email", "label": label, "content": content}


def build_account(seed: AccountSeed, world_seed: int, size: Size, anchor: date) -> Account:
    end = datetime.combine(anchor, time(), UTC)
    start = end - timedelta(days=DATA_DAYS)
    ids = IdFactory(random.Random(f"{world_seed}:{seed.slug}:ids"))
    account = Account(seed=seed, id=seed.public_key, created=start - timedelta(days=700), ids=ids)
    rng = random.Random(f"{world_seed}:{seed.slug}:objects")
    counts = COUNTS[size]
    _metrics(account)
    _templates(account, rng, counts["templates"])
    _profiles(account, rng, counts["profiles"], end)
    _lists(account, rng, counts["lists"])
    _segments(account, rng, counts["segments"])
    _campaigns(account, rng, counts["campaigns"], start, end)
    flowgen.build_flows(account, rng, counts["flows"], start, end)
    generate_events(account, random.Random(f"{world_seed}:{seed.slug}:events"), start, end)
    forms.seed_forms(account, world_seed, start, end)
    return account


@lru_cache(maxsize=8)
def _pristine(world_seed: int, size: Size, anchor: date) -> tuple[Account, ...]:
    accounts = tuple(
        seed_activity(build_account(seed, world_seed, size, anchor), world_seed, anchor) for seed in ACCOUNT_SEEDS
    )
    # The event index is large and never changes: keep the cyclic GC from rescanning it at every
    # full collection (those scans were the p95 of report calls at size="large").
    gc.freeze()
    return accounts


def build_world(world_seed: int, size: Size, anchor: date) -> dict[str, Account]:
    """Fresh mutable copies of the seeded accounts (the event index is shared, read-only)."""
    out: dict[str, Account] = {}
    for account in _pristine(world_seed, size, anchor):
        out[account.seed.slug] = copy.deepcopy(account, memo={id(account.events): account.events})
    return out

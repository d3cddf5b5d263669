"""Derived dimensions of message events: ``$variation``, ``$attributed_variation``, ``URL``,
``$message_send_cohort`` and ``Client Type`` (registered with splits.py).

- **A/B tests.** Three messages are seeded with two variations each, chosen from the data so
  the sandbox's clock moves them along: of the four most recent sent email campaigns the largest
  carries a test with a clear winner (variation B opens, clicks and orders more) and the next
  largest one whose variations perform alike (no winner at any size the sandbox draws); the first
  email message of the first live flow carries a second clear winner. Deliveries are split evenly;
  opens, clicks and attributed orders by the test's shares. ``$variation`` is on the message's
  own events, ``$attributed_variation`` on the conversions attributed to it.
- **URL** on clicks: six links per email message, two per SMS message. Three of an email's links
  are one page with different tracking parameters: the most clicked URL is a product page, but
  with the parameters stripped the collection page leads (44% of clicks against 26%).
- **$message_send_cohort** on campaign message events: one cohort per campaign send.
- **Client Type** on opens and clicks: Desktop, Mobile, Webmail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from klaviyo_sandbox.events import CLICKED, OPENED, PLACED_ORDER, RECEIVED
from klaviyo_sandbox.models import Account
from klaviyo_sandbox.splits import Part, Shares, register

VARIATIONS = ("Variation A", "Variation B")
EVEN = (0.5, 0.5)
# Message events a variation or a send cohort applies to (each recipient gets one variation).
_MESSAGE_METRICS = frozenset(
    {*RECEIVED.values(), *CLICKED.values(), OPENED, "Bounced Email", "Marked Email as Spam", "Failed to Deliver SMS",
     "Unsubscribed from Email Marketing", "Unsubscribed from SMS Marketing"}
)  # fmt: skip
CLIENT_TYPES = (("Desktop", 0.34), ("Mobile", 0.52), ("Webmail", 0.14))


@dataclass(frozen=True)
class AbTest:
    message_id: str
    winner: bool  # seeded with a clear difference (True) or alike variations (False)
    opened: tuple[float, float]
    clicked: tuple[float, float]
    ordered: tuple[float, float]


WINNER = {"opened": (0.42, 0.58), "clicked": (0.36, 0.64), "ordered": (0.35, 0.65)}
ALIKE = {"opened": (0.499, 0.501), "clicked": (0.496, 0.504), "ordered": EVEN}


def ab_tests(account: Account) -> dict[str, AbTest]:
    """The seeded A/B tests by message id (computed once per event index)."""
    cached: dict[str, AbTest] | None = vars(account.events).get("_ab_tests")
    if cached is not None:
        return cached
    received = account.metric_id(RECEIVED["email"])

    def size(message_id: str) -> int:
        series = account.events.by_message.get((message_id, received))
        return series.total()[0] if series else 0

    recent = sorted(
        (c for c in account.campaigns.values() if c.status == "Sent" and c.channel == "email" and c.send_time),
        key=lambda c: c.send_time or c.created_at,
    )[-4:]
    ranked = sorted((c.message_ids[0] for c in recent), key=lambda mid: (-size(mid), mid))
    tests: dict[str, AbTest] = {}
    for mid, shares in zip(ranked[:2], (WINNER, ALIKE), strict=False):
        tests[mid] = AbTest(mid, shares is WINNER, **shares)
    live = sorted((f for f in account.flows.values() if f.status == "live" and not f.archived), key=lambda f: f.id)
    for flow in live[:1]:
        emails = [m for m in account.flow_messages.values() if m.flow_id == flow.id and m.channel == "email"]
        if emails:
            first = min(emails, key=lambda m: m.id)
            tests[first.id] = AbTest(first.id, True, **WINNER)
    vars(account.events)["_ab_tests"] = tests
    return tests


def _variation_parts(test: AbTest, metric: str) -> list[Part]:
    shares = {OPENED: test.opened, CLICKED["email"]: test.clicked}.get(metric, EVEN)
    return [(name, Shares(share)) for name, share in zip(VARIATIONS, shares, strict=True)]


def variation(account: Account, metric: str, dims: dict[str, str]) -> list[Part] | None:
    test = ab_tests(account).get(dims.get("$message", ""))
    return _variation_parts(test, metric) if test and metric in _MESSAGE_METRICS else None


def attributed_variation(account: Account, metric: str, dims: dict[str, str]) -> list[Part] | None:
    test = ab_tests(account).get(dims.get("$attributed_message", ""))
    if test is None or metric != PLACED_ORDER:
        return None
    return [(name, Shares(share)) for name, share in zip(VARIATIONS, test.ordered, strict=True)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "shop"


def url(account: Account, metric: str, dims: dict[str, str]) -> list[Part] | None:
    message_id = dims.get("$message", "")
    if metric not in CLICKED.values() or not message_id:
        return None
    base = f"https://{account.seed.domain}"
    if metric == CLICKED["sms"]:
        return [
            (f"{base}/?utm_source=klaviyo&utm_medium=sms&_kx=sms{message_id[-6:]}", Shares(0.8)),
            (f"{base}/pages/sale?utm_source=klaviyo&utm_medium=sms", Shares(0.2)),
        ]
    campaign = account.messages.get(message_id)
    flow_message = account.flow_messages.get(message_id)
    theme = account.campaigns[campaign.campaign_id].name.split(" – ")[0] if campaign else ""
    slug = _slug(theme or (flow_message.name if flow_message else "") or "new")
    tracking = f"utm_source=klaviyo&utm_medium=email&utm_campaign={slug}"
    token = f"_kx={message_id[-8:]}"
    links = [
        (f"{base}/collections/{slug}?{tracking}&utm_content=button&{token}", 0.20),
        (f"{base}/collections/{slug}?{tracking}&utm_content=hero_image&{token}", 0.16),
        (f"{base}/products/best-seller?{tracking}&{token}", 0.26),
        (f"{base}/collections/{slug}?{tracking}&utm_content=footer", 0.08),
        (f"{base}/?{tracking}", 0.16),
        ("https://www.instagram.com/" + _slug(account.seed.label).replace("-", ""), 0.14),
    ]
    return [(link, Shares(share)) for link, share in links]


def send_cohort(account: Account, metric: str, dims: dict[str, str]) -> list[Part] | None:
    message = account.messages.get(dims.get("$message", ""))
    if message is None or metric not in _MESSAGE_METRICS:
        return None
    campaign = account.campaigns.get(message.campaign_id)
    if campaign is None or campaign.send_time is None:
        return None
    return [(f"{message.id}:{campaign.send_time:%Y%m%dT%H%M}", Shares(1.0))]


def client_type(account: Account, metric: str, dims: dict[str, str]) -> list[Part] | None:
    if metric not in (OPENED, *CLICKED.values()) or not dims.get("$message"):
        return None
    return [(name, Shares(share)) for name, share in CLIENT_TYPES]


register("$variation", variation)
register("$attributed_variation", attributed_variation)
register("URL", url)
register("$message_send_cohort", send_cohort)
register("Client Type", client_type)

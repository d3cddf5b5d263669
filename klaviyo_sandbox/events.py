"""The events behind every report, generated once per account and pre-aggregated per hour.

Attribution is **by event time everywhere**: an open on Tuesday of a campaign sent on Monday
counts on Tuesday, in campaign and flow reports as in metric aggregates. That is what Klaviyo's
metric-aggregates does; its Reporting API attributes to the send date instead, which the
sandbox deliberately does not model so that every endpoint reconciles with every other for the
same window (e.g. campaign-values ``recipients`` of a message == Received Email ``count`` by
``$message``; list growth == Subscribed to List − Unsubscribed from List by ``List``).

Statistic ↔ event mapping (reports.py computes rates from these counts):

    recipients        Received Email / Received SMS                       count
    bounced           Bounced Email                                       count
    failed            Failed to Deliver SMS                               count
    delivered         recipients − bounced − failed
    opens(_unique)    Opened Email                                        count (unique)
    clicks(_unique)   Clicked Email / Clicked SMS                         count (unique)
    spam_complaints   Marked Email as Spam                                count
    unsubscribes      Unsubscribed from Email / SMS Marketing             count (unique)
    conversions       the conversion metric with ``$attributed_message``  count (unique, value)

All events fall on whole UTC hours, so windows in any whole-hour timezone split them exactly.
The ``List`` dimension holds the list's name, as on Klaviyo's Subscribed to List events.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from klaviyo_sandbox.models import Account, Campaign
from klaviyo_sandbox.series import HOUR, Series

DATA_DAYS = 400
# Live flows in trouble near the end of the data, for the anomaly tools to find: flow name ->
# (the last N days, the share of the usual volume they send). A trigger that broke 10 days ago
# (nothing sent since, though the flow is live) and a checkout flow whose last week fell by 60%.
_TROUBLE: dict[str, tuple[int, float]] = {
    "Browse Abandonment": (10, 0.0),
    "Abandoned Cart Reminder": (7, 0.4),
}

# A Gmail spam spike for the deliverability tool to find: the last email campaign of the data draws
# complaints at this rate (the usual is 0.01-0.08%), skewed this much toward Gmail (inbox.py).
SPIKE_SPAM_RATE = 0.004
SPIKE_SKEW = {"Gmail": 40.0}

RECEIVED = {"email": "Received Email", "sms": "Received SMS"}
CLICKED = {"email": "Clicked Email", "sms": "Clicked SMS"}
UNSUBSCRIBED = {"email": "Unsubscribed from Email Marketing", "sms": "Unsubscribed from SMS Marketing"}
OPENED, BOUNCED, SPAM, FAILED = "Opened Email", "Bounced Email", "Marked Email as Spam", "Failed to Deliver SMS"
PLACED_ORDER = "Placed Order"

Curve = tuple[tuple[int, float], ...]
_RECEIVE: Curve = ((0, 0.8), (1, 0.2))
_OPEN: Curve = (
    (0, 0.3),
    (1, 0.18),
    (2, 0.1),
    (3, 0.07),
    (5, 0.07),
    (8, 0.06),
    (12, 0.06),
    (24, 0.07),
    (36, 0.04),
    (48, 0.03),
    (72, 0.02),
)
_CLICK: Curve = ((0, 0.25), (1, 0.2), (2, 0.12), (4, 0.12), (8, 0.1), (24, 0.11), (48, 0.1))
_ORDER: Curve = ((1, 0.25), (3, 0.2), (8, 0.15), (24, 0.2), (48, 0.1), (96, 0.1))
_AFTER: Curve = ((2, 0.6), (24, 0.4))
# Flow sends are daily; offsets stay < 17 h so consecutive days never interleave in a stream.
_F_RECEIVE: Curve = ((0, 1.0),)
_F_OPEN: Curve = ((0, 0.6), (3, 0.4))
_F_CLICK: Curve = ((1, 0.7), (4, 0.3))
_F_ORDER: Curve = ((3, 0.6), (10, 0.4))
_F_AFTER: Curve = ((2, 1.0),)


def hour_of(moment: datetime) -> int:
    return int(moment.timestamp()) // HOUR


def _split(total: int, curve: Curve) -> list[int]:
    parts = [int(total * share) for _, share in curve]
    parts[0] += total - sum(parts)
    return parts


class _Emitter:
    """Writes the events of one message into its streams, clipped to the data's end."""

    def __init__(self, end_hour: int) -> None:
        self.end_hour = end_hour

    def emit(self, series: Series, start: int, curve: Curve, count: int, unique: int, cents: int = 0) -> None:
        if count <= 0:
            return
        uniques = _split(unique, curve)
        extras = _split(count - unique, curve)
        values = _split(cents, curve)
        for (offset, _), u, extra, v in zip(curve, uniques, extras, values, strict=True):
            if start + offset < self.end_hour:
                series.add(start + offset, u + extra, u, v)


def _rates(rng: random.Random, channel: str) -> dict[str, float]:
    u = rng.uniform
    if channel == "sms":
        return {
            "bounce": 0.0,
            "fail": u(0.01, 0.04),
            "open": 0.0,
            "open_x": 1.0,
            "click": u(0.04, 0.14),
            "click_x": u(1.1, 1.4),
            "spam": 0.0,
            "unsub": u(0.003, 0.012),
            "conv": u(0.04, 0.12),
            "aov": u(4000, 12000),
        }
    return {
        "bounce": u(0.003, 0.02),
        "fail": 0.0,
        "open": u(0.22, 0.5),
        "open_x": u(1.3, 1.9),
        "click": u(0.06, 0.22),
        "click_x": u(1.2, 1.7),
        "spam": u(0.0001, 0.0008),
        "unsub": u(0.001, 0.005),
        "conv": u(0.03, 0.12),
        "aov": u(4000, 16000),
    }


class _Generator:
    def __init__(self, account: Account, rng: random.Random, start: datetime, end: datetime) -> None:
        self.account, self.rng = account, rng
        self.start, self.end = start, end
        self.start_hour, self.end_hour = hour_of(start), hour_of(end)
        self.emitter = _Emitter(self.end_hour)
        self.metric = {m.name: m.id for m in account.metrics.values()}
        self.currency = account.seed.currency

    def streams(self, channel: str, dims: dict[str, str], attributed: dict[str, str]) -> dict[str, Series]:
        idx, m = self.account.events, self.metric
        names = {"received": RECEIVED[channel], "clicked": CLICKED[channel], "unsub": UNSUBSCRIBED[channel]}
        if channel == "email":
            names |= {"opened": OPENED, "bounced": BOUNCED, "spam": SPAM}
        else:
            names |= {"failed": FAILED}
        out = {key: idx.stream(m[name], dims) for key, name in names.items()}
        out["order"] = idx.stream(m[PLACED_ORDER], {**attributed, "$value_currency": self.currency})
        return out

    def message(self, s: dict[str, Series], hour: int, recipients: int, r: dict[str, float], daily: bool) -> None:
        """One send of one message to ``recipients`` people at ``hour``, and its aftermath."""
        emit, rng = self.emitter.emit, self.rng
        receive, opens, clicks, orders, after = (
            (_F_RECEIVE, _F_OPEN, _F_CLICK, _F_ORDER, _F_AFTER) if daily else (_RECEIVE, _OPEN, _CLICK, _ORDER, _AFTER)
        )
        bounced = round(recipients * r["bounce"])
        failed = round(recipients * r["fail"])
        delivered = recipients - bounced - failed
        emit(s["received"], hour, receive, recipients, recipients)
        if "bounced" in s:
            emit(s["bounced"], hour, ((0, 1.0),), bounced, bounced)
            opened = round(delivered * r["open"])
            emit(s["opened"], hour, opens, round(opened * r["open_x"]), opened)
            spam = round(delivered * r["spam"])
            emit(s["spam"], hour, after, spam, spam)
            base = opened
        else:
            emit(s["failed"], hour, ((0, 1.0),), failed, failed)
            base = delivered
        clicked = round(base * r["click"])
        emit(s["clicked"], hour, clicks, round(clicked * r["click_x"]), clicked)
        unsub = round(delivered * r["unsub"])
        emit(s["unsub"], hour, after, unsub + (unsub // 20), unsub)
        buyers = round(clicked * r["conv"])
        count = buyers + round(buyers * rng.uniform(0.0, 0.15))
        emit(s["order"], hour, orders, count, buyers, round(count * r["aov"] * rng.uniform(0.9, 1.1)))

    def campaigns(self) -> None:
        sent = [c for c in self.account.campaigns.values() if c.status == "Sent" and c.send_time is not None]
        emails = [c for c in sent if c.channel == "email"]
        spiked = max(emails, key=lambda c: c.send_time or self.start).message_ids[0] if emails else None
        for campaign in sent:
            assert campaign.send_time is not None
            self.campaign(campaign, campaign.send_time, spiked)

    def campaign(self, campaign: Campaign, send_time: datetime, spiked: str | None = None) -> None:
        for mid in campaign.message_ids:
            msg = self.account.messages[mid]
            dims = {"$message": mid, "Campaign Name": campaign.name, "Message Name": msg.label or campaign.name}
            if msg.channel == "email":
                dims["Subject"] = str(msg.definition["content"].get("subject") or "")
            attributed = {"$attributed_message": mid, "$attributed_channel": msg.channel}
            streams = self.streams(msg.channel, dims, attributed)
            size = self.rng.randrange(3_000, 40_000) if msg.channel == "email" else self.rng.randrange(800, 8_000)
            rates = _rates(self.rng, msg.channel)
            if mid == spiked:
                rates["spam"] = SPIKE_SPAM_RATE
                self.account.events.inbox_skew[mid] = dict(SPIKE_SKEW)
            self.message(streams, hour_of(send_time), size, rates, daily=False)

    def flows(self) -> None:
        account = self.account
        for flow in account.flows.values():
            if flow.status == "draft":
                continue
            stop = self.end if flow.status == "live" and not flow.archived else min(self.end, flow.updated)
            first = max(self.start, flow.created)
            volume = self.rng.randrange(20, 400)
            senders = [
                (fm, k)
                for k, fm in enumerate(
                    account.flow_messages[mid] for aid in flow.action_ids for mid in account.actions[aid].message_ids
                )
            ]
            plans = []
            for fm, k in senders:
                dims = {"$message": fm.id, "$flow": flow.id, "Message Name": fm.name}
                if fm.channel == "email":
                    dims["Subject"] = str(fm.definition.get("subject_line") or "")
                attributed = {
                    "$attributed_message": fm.id,
                    "$attributed_flow": flow.id,
                    "$attributed_channel": fm.channel,
                }
                streams = self.streams(fm.channel, dims, attributed)
                plans.append((streams, _rates(self.rng, fm.channel), 0.7**k, 12 + (3 * k) % 8))
            day = datetime(first.year, first.month, first.day, tzinfo=first.tzinfo)
            trouble = _TROUBLE.get(flow.name)
            while day < stop:
                base = hour_of(day)
                weekly = 1.0 + 0.15 * ((day.weekday() in (0, 1)) - (day.weekday() in (5, 6)))
                cut = trouble[1] if trouble and day >= self.end - timedelta(days=trouble[0]) else 1.0
                for streams, rates, factor, offset in plans:
                    recipients = round(volume * factor * weekly * self.rng.uniform(0.7, 1.3))
                    if recipients > 0:
                        # A troubled day still draws its numbers, so every other stream stays as seeded.
                        self.message(streams, base + offset, round(recipients * cut), rates, daily=True)
                day += timedelta(days=1)

    def daily(self, name: str, dims: dict[str, str], mean: float, hour: int, unique_share: float, aov: int = 0) -> None:
        series = self.account.events.stream(self.metric[name], dims)
        rng = self.rng
        for day in range(DATA_DAYS):
            count = round(mean * rng.uniform(0.6, 1.4))
            unique = round(count * unique_share)
            series.add(self.start_hour + 24 * day + hour, count, unique, round(count * aov * rng.uniform(0.85, 1.15)))

    def site(self) -> None:
        cur = {"$value_currency": self.currency}
        self.daily(PLACED_ORDER, cur, self.rng.uniform(20, 120), 19, 0.92, aov=self.rng.randrange(5000, 12000))
        self.daily("Ordered Product", {}, self.rng.uniform(40, 200), 19, 0.9, aov=4000)
        self.daily("Started Checkout", {}, self.rng.uniform(100, 400), 18, 0.85)
        self.daily("Viewed Product", {}, self.rng.uniform(1000, 4000), 17, 0.6)
        self.daily("Active on Site", {}, self.rng.uniform(2000, 6000), 16, 0.55)
        self.daily("Subscribed to Email Marketing", {"Method": "Klaviyo Form"}, self.rng.uniform(10, 80), 14, 1.0)
        self.daily("Subscribed to SMS Marketing", {"Method": "Klaviyo Form"}, self.rng.uniform(2, 20), 14, 1.0)

    def lists(self) -> None:
        for rec in self.account.lists.values():
            dims = {"List": rec.subscribed_metric_dim}
            mean = max(0.5, rec.initial_count / 300)
            self.daily("Subscribed to List", dims, mean, 15, 1.0)
            self.daily("Unsubscribed from List", dims, mean * self.rng.uniform(0.1, 0.3), 15, 1.0)

    def segments(self) -> None:
        idx = self.account.events
        for seg in self.account.segments.values():
            added, removed = Series(), Series()
            mean = max(1.0, seg.initial_count / 200)
            churn = self.rng.uniform(0.6, 0.95)
            for day in range(DATA_DAYS):
                hour = self.start_hour + 24 * day + 6
                plus = round(mean * self.rng.uniform(0.5, 1.5))
                added.add(hour, plus, plus)
                minus = round(plus * churn * self.rng.uniform(0.7, 1.3))
                removed.add(hour, minus, minus)
            idx.segment_added[seg.id], idx.segment_removed[seg.id] = added, removed


def generate_events(account: Account, rng: random.Random, start: datetime, end: datetime) -> None:
    gen = _Generator(account, rng, start, end)
    gen.campaigns()
    gen.flows()
    gen.site()
    gen.lists()
    gen.segments()

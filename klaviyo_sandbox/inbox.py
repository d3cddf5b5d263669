"""``Inbox Provider``, ``Email Domain`` and ``Bounce Type``: where an email went, split from its streams.

events.py generates one stream per (metric, message); who the recipients were is not in it. A
metric-aggregates request that groups or filters by a recipient dimension gets each email stream
split, hour by hour, into one stream per email domain (and per bounce type for ``Bounced Email``).
The split is exact and deterministic: every hour's count, uniques and value are shared out whole
(floors, then the leftover units to the parts owed most so far), so the parts of an hour add up to
the hour, and every window, interval and report reconciles with the unsplit numbers (a message's
Received Email by ``Email Domain`` sums to its campaign-values ``recipients``).

Shares are the domain's share of recipients times a per-provider factor per metric, so the rates
differ plausibly by provider (Microsoft and Yahoo bounce and complain more, Apple unsubscribes more).
events.py may skew one message's spam complaints toward one provider (``EventIndex.inbox_skew``):
the seeded Gmail spam spike. Values are illustrative: Klaviyo does not document its provider names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from klaviyo_sandbox.models import Account
from klaviyo_sandbox.series import Series

PROVIDER, DOMAIN, BOUNCE_TYPE = "Inbox Provider", "Email Domain", "Bounce Type"
# (provider, domain, share of recipients); the shares add up to 1.
DOMAINS: tuple[tuple[str, str, float], ...] = (
    ("Gmail", "gmail.com", 0.40),
    ("Gmail", "googlemail.com", 0.02),
    ("Apple", "icloud.com", 0.13),
    ("Apple", "me.com", 0.04),
    ("Microsoft", "outlook.com", 0.08),
    ("Microsoft", "hotmail.com", 0.06),
    ("Yahoo", "yahoo.com", 0.09),
    ("Yahoo", "aol.com", 0.03),
    ("Other", "comcast.net", 0.05),
    ("Other", "proton.me", 0.03),
    ("Other", "gmx.net", 0.07),
)
# Metric -> provider -> factor on the recipient share (1 when absent). Only email metrics are split.
FACTORS: dict[str, dict[str, float]] = {
    "Received Email": {},
    "Opened Email": {"Apple": 1.4, "Other": 0.8},  # Apple Mail Privacy Protection opens everything
    "Clicked Email": {"Apple": 0.9},
    "Bounced Email": {"Gmail": 0.6, "Apple": 0.8, "Microsoft": 1.5, "Yahoo": 1.7, "Other": 2.4},
    "Marked Email as Spam": {"Gmail": 1.0, "Apple": 0.3, "Microsoft": 1.6, "Yahoo": 1.8, "Other": 0.5},
    "Unsubscribed from Email Marketing": {"Apple": 1.3, "Yahoo": 0.8},
}
SPAM = "Marked Email as Spam"
# Share of a domain's bounces that are hard (permanent); the rest are soft.
HARD_SHARE = {"Gmail": 0.3, "Apple": 0.3, "Microsoft": 0.4, "Yahoo": 0.45, "Other": 0.6}
HARD, SOFT = "Hard Bounce", "Soft Bounce"

Part = tuple[dict[str, str], float]


@dataclass
class _Split:
    parts: list[tuple[dict[str, str], Series]]
    length: int  # hours of the source series when split (a longer source is split again)


def parts_for(metric: str, skew: dict[str, float] | None) -> list[Part]:
    """The (dimensions, weight) parts one stream of ``metric`` is split into, weights adding up to 1."""
    factors = {**FACTORS.get(metric, {}), **(skew or {})}
    parts: list[Part] = []
    for provider, domain, share in DOMAINS:
        weight = share * factors.get(provider, 1.0)
        dims = {PROVIDER: provider, DOMAIN: domain}
        if metric == "Bounced Email":
            hard = HARD_SHARE[provider]
            parts += [({**dims, BOUNCE_TYPE: HARD}, weight * hard), ({**dims, BOUNCE_TYPE: SOFT}, weight * (1 - hard))]
        else:
            parts.append((dims, weight))
    total = sum(weight for _, weight in parts)
    return [(dims, weight / total) for dims, weight in parts]


class _Sharer:
    """Shares whole units out by weight, hour after hour, carrying what each part is owed."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights
        self.owed = [0.0] * len(weights)

    def share(self, amount: int) -> list[int]:
        if amount <= 0:
            return [0] * len(self.weights)
        exact = [amount * w for w in self.weights]
        out = [int(x) for x in exact]
        for k, x in enumerate(exact):
            self.owed[k] += x - out[k]
        for k in sorted(range(len(out)), key=lambda i: (-self.owed[i], i))[: amount - sum(out)]:
            out[k] += 1
            self.owed[k] -= 1.0
        return out


def _split(series: Series, parts: list[Part]) -> list[tuple[dict[str, str], Series]]:
    weights = [w for _, w in parts]
    uniques, extras, values = _Sharer(weights), _Sharer(weights), _Sharer(weights)
    out = [Series() for _ in parts]
    for i, hour in enumerate(series.hours):
        count = series.counts[i + 1] - series.counts[i]
        unique = series.uniques[i + 1] - series.uniques[i]
        value = series.values[i + 1] - series.values[i]
        for target, u, x, v in zip(
            out, uniques.share(unique), extras.share(count - unique), values.share(value), strict=True
        ):
            target.add(hour, u + x, u, v)
    return [(dims, target) for (dims, _), target in zip(parts, out, strict=True)]


Parts = list[tuple[dict[str, str], Series]]


def expand(account: Account, metric_id: str, dims: dict[str, str], series: Series) -> Parts:
    """``series`` (a stream of ``metric_id`` with ``dims``) as one series per recipient part.

    A stream of another metric is returned whole: its events carry no recipient dimensions.
    """
    metric = account.metrics[metric_id].name if metric_id in account.metrics else ""
    if metric not in FACTORS:
        return [({}, series)]
    # Kept with the (shared, read-only) event index, so it lives and dies with the streams it splits.
    key = ("inbox", id(series))
    found = account.events.derived.get(key)
    if not isinstance(found, _Split) or found.length != len(series.hours):
        skew = account.events.inbox_skew.get(dims.get("$message", "")) if metric == SPAM else None
        found = _Split(_split(series, parts_for(metric, skew)), len(series.hours))
        account.events.derived[key] = found
    return found.parts


Expander = Callable[[Account, str, dict[str, str], Series], Parts]
# The dimensions this module models, for the aggregates' registry.
EXPANDERS: dict[str, Expander] = {PROVIDER: expand, DOMAIN: expand, BOUNCE_TYPE: expand}

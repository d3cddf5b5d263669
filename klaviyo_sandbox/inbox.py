"""``Inbox Provider``, ``Email Domain`` and ``Bounce Type``: where an email went, split from its streams.

events.py generates one stream per (metric, message); who the recipients were is not in it. A
metric-aggregates request that groups or filters by a recipient dimension gets each email stream
split, hour by hour, into one stream per email domain (and per bounce type for ``Bounced Email``).
The split is exact, deterministic and hour by hour, with no state carried between hours: every hour's
count, uniques and value are shared out whole (floors, then the few leftover units by systematic
sampling on the fractions, from a point fixed by the stream and the hour, so a part gets a leftover
unit as often as its fraction says). The parts of an hour add up to the hour, so every window,
interval and report reconciles with the unsplit numbers (a message's Received Email by ``Email
Domain`` sums to its campaign-values ``recipients``), and only the hours a request covers are split.

Shares are the domain's share of recipients times a per-provider factor per metric, so the rates
differ plausibly by provider (Microsoft and Yahoo bounce and complain more, Apple unsubscribes more).
events.py may skew one message's spam complaints toward one provider (``EventIndex.inbox_skew``):
the seeded Gmail spam spike. Values are illustrative: Klaviyo does not document its provider names.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections.abc import Callable

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
Parts = list[tuple[dict[str, str], Series]]


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


def share(amount: int, weights: list[float], point: float) -> list[int]:
    """``amount`` in whole units by ``weights``: floors, then one leftover unit to each part the points
    ``point``, ``point + 1``, … fall in along the fractions (``0 <= point < 1``)."""
    out: list[int] = []
    fractions: list[float] = []
    for weight in weights:
        exact = amount * weight
        whole = int(exact)
        out.append(whole)
        fractions.append(exact - whole)
    left = amount - sum(out)
    reach = 0.0
    for k, fraction in enumerate(fractions):
        if not left:
            break
        reach += fraction
        if point < reach:
            out[k] += 1
            point += 1.0
            left -= 1
    for k in sorted(range(len(out)), key=lambda i: -fractions[i])[:left]:  # float rounding's last unit
        out[k] += 1
    return out


def _point(salt: int, hour: int) -> float:
    """A fixed point in [0, 1) per stream and hour (Knuth's multiplicative hash; no state, no RNG)."""
    return ((hour * 2654435761 + salt) % 4294967296) / 4294967296


def _split(series: Series, parts: list[Part], salt: int, start: int, end: int) -> Parts:
    """The parts' series over the source's hours in [start, end), built directly."""
    weights = [w for _, w in parts]
    out = [Series() for _ in parts]
    counts, uniques, values, hours = series.counts, series.uniques, series.values, series.hours
    for i in range(bisect_left(hours, start), bisect_left(hours, end)):
        hour = hours[i]
        unique = uniques[i + 1] - uniques[i]
        extra = counts[i + 1] - counts[i] - unique
        shares = zip(
            out, share(unique, weights, _point(salt, hour)), share(extra, weights, _point(salt + 1, hour)),
            share(values[i + 1] - values[i], weights, _point(salt + 2, hour)), strict=True,
        )  # fmt: skip
        for target, u, x, v in shares:
            if u or x or v:
                target.hours.append(hour)
                target.counts.append(target.counts[-1] + u + x)
                target.uniques.append(target.uniques[-1] + u)
                target.values.append(target.values[-1] + v)
    return [(dims, target) for (dims, _), target in zip(parts, out, strict=True)]


def expand(account: Account, metric_id: str, dims: dict[str, str], series: Series, start: int, end: int) -> Parts:
    """``series`` (a stream of ``metric_id`` with ``dims``) over hours [start, end), one series per part.

    A stream of another metric is returned whole: its events carry no recipient dimensions.
    """
    metric = account.metrics[metric_id].name if metric_id in account.metrics else ""
    if metric not in FACTORS:
        return [({}, series)]
    skew = account.events.inbox_skew.get(dims.get("$message", "")) if metric == SPAM else None
    salt = zlib.crc32(repr((metric_id, sorted(dims.items()))).encode())
    return _split(series, parts_for(metric, skew), salt, start, end)


# (account, metric id, the stream's dims, its series, first hour, end hour) -> parts over those hours
Expander = Callable[[Account, str, dict[str, str], Series, int, int], Parts]
# The dimensions this module models, for the aggregates' registry.
EXPANDERS: dict[str, Expander] = {PROVIDER: expand, DOMAIN: expand, BOUNCE_TYPE: expand}

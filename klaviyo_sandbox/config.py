"""Configuration of one sandbox instance and the seeded demo accounts it serves."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from klaviyo_analytics.clock import Clock
from klaviyo_sandbox.faults import FaultConfig

Size = Literal["small", "large"]
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")
SIZES: tuple[Size, ...] = ("small", "large")


@dataclass(frozen=True)
class SandboxConfig:
    """What a sandbox serves and how fast its clocks run.

    ``time_scale`` multiplies every rate-limit window (0.01 makes a 60 s window last 0.6 s);
    Retry-After and RateLimit-Reset stay whole Klaviyo seconds (unscaled, rounded up), so a
    client multiplies them by the same scale. ``anchor`` is the date the seeded data ends (it
    covers the ~400 days before it): the pinned today. ``clock`` is the sandbox's one clock
    (klaviyo_analytics.clock): its ``now()`` is the sandbox's now and its date the default anchor,
    its ``monotonic()`` runs the rate limiter. Without a clock: an anchor pins noon (UTC) of that
    date, running from there; neither pins the machine's clocks. A bare ``() -> float`` callable
    is still taken as the rate limiter's monotonic clock alone (older tests).

    ``public_url`` (``scheme://host[:port]``) is the origin written into every link (``self``,
    ``next``, relationships) instead of the one the request came to: an ``https`` origin lets
    Klaviyo's SDK take the cursor out of a ``links.next`` URL (it only parses ``https`` links)
    while the sandbox itself serves plain HTTP on loopback.
    """

    seed: int = 7
    size: Size = "small"
    time_scale: float = 1.0
    faults: FaultConfig | None = None
    anchor: date | None = None
    clock: Clock | Callable[[], float] | None = field(default=None, compare=False, repr=False)
    public_url: str | None = None

    def __post_init__(self) -> None:
        if self.public_url is not None and not _ORIGIN.match(self.public_url):
            shape = "scheme://host[:port] (http or https, no path)"
            raise ValueError(f"public_url must be {shape}, not {self.public_url!r}")
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(SIZES)}, not {self.size!r}")
        if not self.time_scale > 0:
            raise ValueError("time_scale must be > 0")


@dataclass(frozen=True)
class AccountSeed:
    """The fixed identity of a demo account; its content comes from the seeded generator."""

    slug: str
    label: str
    key_env: str
    api_key: str
    timezone: str
    currency: str
    locale: str
    industry: str
    domain: str
    public_key: str


# Demo keys deliberately do not look like real Klaviyo keys (pk_ + 30 alphanumerics).
ACCOUNT_SEEDS: tuple[AccountSeed, ...] = (
    AccountSeed(
        slug="acme",
        label="Acme Outdoor Co.",
        key_env="KLAVIYO_ACME_KEY",
        api_key="pk_sandbox_acme_demo",
        timezone="America/New_York",
        currency="USD",
        locale="en-US",
        industry="Sporting Goods",
        domain="acme-outdoor.example",
        public_key="AcmE7x",
    ),
    AccountSeed(
        slug="globex",
        label="Globex Home & Garden",
        key_env="KLAVIYO_GLOBEX_KEY",
        api_key="pk_sandbox_globex_demo",
        timezone="Europe/London",
        currency="GBP",
        locale="en-GB",
        industry="Home and Garden",
        domain="globex-home.example",
        public_key="GlbX3q",
    ),
)


@dataclass(frozen=True)
class DemoAccount:
    """A seeded account as the rest of the product sees it (accounts.toml material)."""

    slug: str
    label: str
    key_env: str
    api_key: str
    conversion_metric_id: str
    timezone: str


def accounts_toml(accounts: list[DemoAccount]) -> str:
    """An accounts.toml for the seeded accounts (the product reads it like any other)."""
    blocks = []
    for a in accounts:
        label = a.label.replace("\\", "\\\\").replace('"', '\\"')
        blocks.append(
            f'[{a.slug}]\napi_key_env = "{a.key_env}"\nconversion_metric_id = "{a.conversion_metric_id}"\n'
            f'label = "{label}"\ntimezone = "{a.timezone}"\n'
        )
    return "\n".join(blocks)

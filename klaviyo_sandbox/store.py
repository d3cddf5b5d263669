"""Everything a sandbox remembers: the accounts' objects, what clients changed, and the request log.

Writes change the account objects in place (so later reads see them) and are also recorded
here per account, for ``Sandbox.state()``: the objects created, flow status changes, list
membership changes, message updates, the sends live flows would have made, every
campaign-send-job attempt, and the count of 429s
served. ``reset()`` returns to the seeded objects and clears all of it.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from klaviyo_analytics.clock import SYSTEM_CLOCK, Clock
from klaviyo_sandbox.config import ACCOUNT_SEEDS, Size
from klaviyo_sandbox.data import build_world
from klaviyo_sandbox.models import Account

RECORD_KINDS = (
    "lists",
    "profiles",
    "campaigns",
    "templates",
    "segments",
    "flow_status_changes",
    "flows",
    "flow_deletions",
    "flow_action_updates",
    "list_membership_changes",
    "campaign_updates",
    "campaign_message_updates",
    "profile_updates",
    "flow_sends",  # what live list-triggered flows would have sent (triggers.py)
    "subscriptions",  # bulk subscribe / unsubscribe jobs (subscriptions.py)
    "opt_in_confirmations",  # double opt-in confirmation messages a subscribe job would send
    "webhooks",  # created webhooks (never their secret)
    "webhook_deletions",
    "events",  # events created through POST /api/events
    "images",  # images imported from a URL (never fetched)
)


class Store:
    def __init__(self, seed: int, size: Size, anchor: date, clock: Clock = SYSTEM_CLOCK) -> None:
        self.seed, self.size, self.anchor, self.clock = seed, size, anchor, clock
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.records: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.send_job_attempts: list[dict[str, Any]] = []
        self.rate_limited = 0
        self.entries: list[dict[str, Any]] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.accounts = build_world(self.seed, self.size, self.anchor)
            self.records = {seed.slug: {kind: [] for kind in RECORD_KINDS} for seed in ACCOUNT_SEEDS}
            self.send_job_attempts = []
            self.rate_limited = 0
            self.entries = []

    def record(self, slug: str, kind: str, **item: Any) -> None:
        with self.lock:
            self.records[slug][kind].append({**item, "time": self.clock.now().isoformat()})

    def log(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.entries.append(entry)

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "accounts": {slug: {k: list(v) for k, v in kinds.items()} for slug, kinds in self.records.items()},
                "send_job_attempts": list(self.send_job_attempts),
                "rate_limited": self.rate_limited,
            }

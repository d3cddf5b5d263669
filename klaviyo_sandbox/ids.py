"""Identifiers shaped like Klaviyo's: 6-char alphanumerics and 26-char ULID-like strings."""

from __future__ import annotations

import random
import string
from datetime import datetime

_LETTERS = string.ascii_letters
_ALNUM = string.ascii_letters + string.digits
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class IdFactory:
    """Deterministic, collision-free ids from one seeded random stream."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._issued: set[str] = set()

    def _unique(self, make: str) -> str:
        while True:
            value = self._draw(make)
            if value not in self._issued:
                self._issued.add(value)
                return value

    def _draw(self, kind: str) -> str:
        rng = self._rng
        if kind == "short":
            return rng.choice(_LETTERS) + "".join(rng.choice(_ALNUM) for _ in range(5))
        if kind == "numeric":
            return str(rng.randrange(10_000_000, 99_999_999))
        return "".join(rng.choice(_CROCKFORD) for _ in range(16))

    def short(self) -> str:
        """Lists, metrics, flows, segments: e.g. ``Y6nRLr``."""
        return self._unique("short")

    def numeric(self) -> str:
        """Flow actions: numeric strings, as Klaviyo issues them."""
        return self._unique("numeric")

    def ulid(self, at: datetime) -> str:
        """Campaigns, messages, profiles, templates: 10 time chars + 16 random chars."""
        millis = int(at.timestamp() * 1000)
        head = "".join(_CROCKFORD[(millis >> shift) & 31] for shift in range(45, -5, -5))
        while True:
            value = head + self._draw("ulid")
            if value not in self._issued:
                self._issued.add(value)
                return value

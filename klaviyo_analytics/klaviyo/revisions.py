"""Klaviyo's published API revisions: one table for the product's KLAVIYO_REVISION check and the
sandbox's ``revision`` header.

Klaviyo releases a stable revision each quarter (the changelog lists them); each one is stable for
a year, deprecated for the next, and retired two years after its release (the API versioning and
deprecation policy). A revision not in this table was never published: Klaviyo refuses it with a
400 on ``revision``. A retired one is no longer served as itself (Klaviyo falls forward).
Beta revisions add a suffix (``2026-07-15.pre``) to a published date.

Add each new quarterly revision here when Klaviyo publishes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# The revision whose spec the product is built and the sandbox is judged against.
BUILT_FOR = "2026-07-15"

PUBLISHED: tuple[str, ...] = (
    "2022-10-17",
    "2023-01-24",
    "2023-02-22",
    "2023-06-15",
    "2023-07-15",
    "2023-08-15",
    "2023-09-15",
    "2023-10-15",
    "2023-12-15",
    "2024-02-15",
    "2024-05-15",
    "2024-06-15",
    "2024-07-15",
    "2024-10-15",
    "2025-01-15",
    "2025-04-15",
    "2025-07-15",
    "2025-10-15",
    "2026-01-15",
    "2026-04-15",
    "2026-07-15",
    "2026-10-15",
)
STABLE_YEARS, RETIRED_YEARS = 1, 2
_FORMAT = re.compile(r"^(\d{4}-\d{2}-\d{2})(\.[A-Za-z0-9_-]+)?$")


@dataclass(frozen=True)
class Revision:
    name: str  # as given, suffix included
    released: date
    deprecated: date  # from this day Klaviyo calls it deprecated
    retired: date  # from this day Klaviyo no longer serves it as itself

    def status(self, today: date) -> str:
        if today >= self.retired:
            return "retired"
        return "deprecated" if today >= self.deprecated else "stable"


class RevisionError(ValueError):
    """Not ``YYYY-MM-DD[.suffix]`` (``malformed``) or never published (``unpublished``)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def lookup(value: str) -> Revision:
    """The published revision ``value`` names; RevisionError otherwise."""
    found = _FORMAT.match(value.strip())
    try:
        day = date.fromisoformat(found.group(1)) if found else None
    except ValueError:
        day = None
    if found is None or day is None:
        raise RevisionError(f"Invalid revision '{value}': expected YYYY-MM-DD[.suffix].", "malformed")
    if found.group(1) not in PUBLISHED:
        raise RevisionError(
            f"Revision {value} is not published (published revisions: {PUBLISHED[0]} … {PUBLISHED[-1]}, "
            "one each quarter; see Klaviyo's changelog).",
            "unpublished",
        )
    return Revision(value.strip(), day, _years_after(day, STABLE_YEARS), _years_after(day, RETIRED_YEARS))


def latest() -> str:
    return PUBLISHED[-1]

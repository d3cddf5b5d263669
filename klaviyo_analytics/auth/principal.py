"""Who is calling, and with which grants: the only thing the service knows about auth.

A grant gives a user one role on one account (or on every account, ``"*"``). Roles are cumulative:
an approver may also propose and read, a proposer may also read. ``grants=None`` is the local
single-user case (stdio, or a server with no users file): every account at every role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

ANY_ACCOUNT = "*"


class Role(StrEnum):
    READER = "reader"
    PROPOSER = "proposer"
    APPROVER = "approver"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def includes(self, other: Role) -> bool:
        """True when holding this role also allows ``other`` (cumulative roles)."""
        return self.rank >= other.rank


_RANK = {Role.READER: 1, Role.PROPOSER: 2, Role.APPROVER: 3}


@dataclass(frozen=True)
class Principal:
    user: str
    grants: Mapping[str, Role] | None

    def role_for(self, account: str) -> Role | None:
        """The highest role on ``account``: its own grant or the ``"*"`` grant, whichever is higher."""
        if self.grants is None:
            return Role.APPROVER
        own = self.grants.get(account)
        wildcard = self.grants.get(ANY_ACCOUNT)
        held = [role for role in (own, wildcard) if role is not None]
        return max(held, key=lambda role: role.rank) if held else None

    def can(self, account: str, role: Role) -> bool:
        held = self.role_for(account)
        return held is not None and held.includes(role)

    def visible(self, accounts: Iterable[str]) -> list[str]:
        """The accounts, among ``accounts``, this principal may at least read (order kept)."""
        return [account for account in accounts if self.can(account, Role.READER)]

    @property
    def unrestricted(self) -> bool:
        return self.grants is None


LOCAL = Principal("local", None)

"""Who is deciding at the command line, proven against the users file like the console and REST.

Without a users file the CLI keeps its old meaning: the person at the terminal is trusted, and
``--as`` only names them in the audit. With one, ``--as`` must name a user of that file who holds
``approver`` on the proposal's account, and the person must prove it with that user's password or
one of their tokens — read from ``KLAVIYO_MCP_APPROVER_CREDENTIAL`` in the environment, else from
a hidden prompt on the terminal, else from the first line of stdin; never from an argument, which
``ps`` and shell history would keep. KLAVIYO_MCP_REQUIRE_SECOND_APPROVER holds here as everywhere:
the proposer may reject but not approve.

The credential is deliberately not a setting of ``config.Settings``: it is one person's proof for
one command, read from the real environment of that command only. As a setting it would also be
read from the ``.env`` files (and listed in ``.env.example``), and a password kept in a file the
machine reads for everyone proves nothing about who is at the terminal.
"""

from __future__ import annotations

import getpass
import os
from typing import TextIO

from klaviyo_analytics.auth import Role
from klaviyo_analytics.auth.users import load_directory
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ForbiddenError, InvalidArgumentError
from klaviyo_analytics.klaviyo.accounts import load_registry

CREDENTIAL_ENV = "KLAVIYO_MCP_APPROVER_CREDENTIAL"  # the variable's name, not a credential
MAX_CREDENTIAL = 1024


def read_credential(user: str, stdin: TextIO, err: TextIO) -> str:
    given = os.environ.get(CREDENTIAL_ENV)
    if given:
        return given
    if stdin.isatty():
        return getpass.getpass(f"Password or token of {user}: ", stream=err)
    return stdin.readline().rstrip("\r\n")


def proven_user(
    settings: Settings, name: str | None, account: str, proposed_by: str, approve: bool, stdin: TextIO, err: TextIO
) -> str | None:
    """The user deciding, proven, or None without a users file (the caller keeps ``--as``)."""
    if settings.users_file is None:
        return None
    if not name or not name.strip():
        raise InvalidArgumentError(
            "a users file is configured (KLAVIYO_MCP_USERS_FILE): say who you are with --as <user>, an approver on "
            f"{account!r}, and give that user's password or token (prompt, stdin or {CREDENTIAL_ENV}).",
            field="--as",
        )
    user = name.strip()
    directory = load_directory(settings, load_registry(settings).names)
    credential = read_credential(user, stdin, err)[:MAX_CREDENTIAL]
    # Both checks always run (argon2 included), so the answer takes as long for an unknown user.
    by_password = bool(credential) and directory.verify_password(user, credential)
    holder = directory.principal_for_token(credential) if credential else None
    principal = directory.principal_for_user(user)
    if principal is None or not (by_password or (holder is not None and holder.user == user)):
        raise ForbiddenError(
            f"{user} is not a user of the users file, or the password or token given is not theirs; nothing was "
            "decided.",
        )
    if not principal.can(account, Role.APPROVER):
        held = principal.role_for(account)
        raise ForbiddenError(
            f"deciding an action of {account!r} needs the approver role there; {user} has "
            f"{held.value if held else 'no'} role on it.",
            required_role=Role.APPROVER.value,
            role=held.value if held else None,
        )
    if approve and settings.require_second_approver and user == proposed_by:
        raise ForbiddenError(
            f"{user} proposed this action and KLAVIYO_MCP_REQUIRE_SECOND_APPROVER is on: another approver must "
            "approve it (rejecting your own proposal is allowed).",
            required="a second person",
        )
    return user

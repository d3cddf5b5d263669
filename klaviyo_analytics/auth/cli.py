"""``python -m klaviyo_analytics users hash-password`` — an argon2 hash for ``users.toml``;
``python -m klaviyo_analytics users signing-key`` — an ``KLAVIYO_MCP_OAUTH_SIGNING_KEY=…`` line for ``.env``
(several instances sharing the OAuth state must sign with one key).

The password is read from the terminal (asked twice, not echoed) or, when stdin is not a
terminal, from the first line of stdin (``printf '%s\\n' "$PW" | ...``); never from argv, where
``ps`` and shell history would see it. The hash goes to stdout, prompts and errors to stderr.
Exit status: 0 done, 1 refused (the message says why), 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from typing import TextIO

from klaviyo_analytics.auth.keys import env_line, new_pem
from klaviyo_analytics.auth.users import hash_password

MIN_PASSWORD_LENGTH = 12


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m klaviyo_analytics users", description="users.toml helpers")
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("hash-password", help="print an argon2 hash of a password read from the terminal or stdin")
    commands.add_parser("signing-key", help="print a new KLAVIYO_MCP_OAUTH_SIGNING_KEY line for .env")
    return top


def read_password(stdin: TextIO, err: TextIO) -> str:
    if stdin.isatty():
        first = getpass.getpass("Password: ", stream=err)
        if getpass.getpass("Again: ", stream=err) != first:
            raise ValueError("the two passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def main(
    argv: Sequence[str] | None = None, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    args = parser().parse_args(argv)
    if args.command == "signing-key":
        out.write(env_line(new_pem()) + "\n")
        return 0
    try:
        password = read_password(stdin, err)
    except (ValueError, EOFError) as exc:
        err.write(f"refused: {exc or 'no password given'}\n")
        return 1
    if len(password) < MIN_PASSWORD_LENGTH:
        err.write(f"refused: a password needs at least {MIN_PASSWORD_LENGTH} characters\n")
        return 1
    out.write(hash_password(password) + "\n")
    return 0

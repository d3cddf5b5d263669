"""``python -m klaviyo_analytics <command> …``: the product's command line.

:data:`COMMANDS` is the one list of commands: ``--help`` shows it and the dispatcher reads it. Each
command keeps its own parser in its own module, imported only when that command runs (so ``--help``
loads nothing else); ``python -m klaviyo_analytics <command> --help`` shows the command's options.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from klaviyo_analytics import interpreter_hint

PROG = "python -m klaviyo_analytics"


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    module: str  # holds ``main(argv) -> int``
    # actions.cli's parser reads the command's own name too (``actions approve …``); the others do not.
    passes_name: bool = False


COMMANDS: tuple[Command, ...] = (
    Command(
        "actions",
        "review, approve, reject or resolve proposed actions",
        "klaviyo_analytics.actions.cli",
        passes_name=True,
    ),
    Command(
        "users",
        "users.toml helpers: password hashes, OAuth signing keys",
        "klaviyo_analytics.auth.cli",
    ),
    Command(
        "digest",
        "write the weekly digest of one or every account",
        "klaviyo_analytics.service.digest",
    ),
    Command(
        "warm",
        "fill the shared cache with the common questions",
        "klaviyo_analytics.service.warm",
    ),
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog=PROG,
        description="klaviyo-mcp administration. Run a command with --help for its options.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="command")
    for command in COMMANDS:
        commands.add_parser(command.name, help=command.help, add_help=False)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    chosen = next((c for c in COMMANDS if args[:1] == [c.name]), None)
    if chosen is None:
        parser().parse_args(args)  # prints the help, or an error naming the commands, and exits
        return 2
    try:
        module = importlib.import_module(chosen.module)
    except ModuleNotFoundError as missing:
        if not missing.name or missing.name.split(".")[0] == "klaviyo_analytics":
            raise
        # Run by an interpreter without the project's packages: name the one to use.
        print(f"{PROG}: {interpreter_hint(missing.name)}", file=sys.stderr)
        return 2
    run = cast(Callable[[list[str]], int], module.main)
    return run(args if chosen.passes_name else args[1:])


if __name__ == "__main__":
    sys.exit(main())

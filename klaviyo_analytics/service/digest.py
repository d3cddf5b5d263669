"""The digest as a catalog tool (MCP, REST) and as a command (cron)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from klaviyo_analytics.render.digest import to_html, to_markdown
from klaviyo_analytics.rules.timeframes import preset_period
from klaviyo_analytics.schemas.digest import DigestParams, DigestResult
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.digest_sections import build_digest

# A command has no chat waiting on it: it may wait out Klaviyo's report pacing (2 a minute).
COMMAND_DEADLINE_SECONDS = 600.0


def get_weekly_digest(svc: KlaviyoService, params: DigestParams, ctx: CallContext) -> ToolResult[DigestResult]:
    digest = build_digest(svc, params.account, ctx)
    content = to_html(digest) if params.format == "html" else to_markdown(digest)
    lines = content.rstrip("\n").split("\n")
    result = DigestResult(account=digest.account, format=params.format, lines=lines, missing=digest.missing)
    warnings = [f"Sections not finished: {', '.join(digest.missing)}; ask again."] if digest.missing else []
    # The week the sections read: last_7_days in the account's timezone, as each section resolves it.
    week = preset_period("last_7_days", svc.today(svc.account(digest.account)))
    return ToolResult(result, account=digest.account, period=week, warnings=warnings)


def main(argv: list[str] | None = None) -> int:
    """``python -m klaviyo_analytics digest [--account A | --all] [--format md|html] [--out DIR]``."""
    from klaviyo_analytics.config import load_settings
    from klaviyo_analytics.errors import KlaviyoMCPError
    from klaviyo_analytics.klaviyo.deadline import Deadline
    from klaviyo_analytics.service import build_service
    from klaviyo_analytics.tools import get_tool, run_tool

    parser = argparse.ArgumentParser(prog="python -m klaviyo_analytics digest", description="The weekly digest.")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--account", help="one account (default: the only one)")
    who.add_argument("--all", action="store_true", help="every account in accounts.toml")
    parser.add_argument("--format", choices=["md", "html"], default="md")
    parser.add_argument("--out", type=Path, help="write <account>.<format> files here instead of stdout")
    parser.add_argument("--deadline", type=float, default=COMMAND_DEADLINE_SECONDS, help="seconds per account")
    args = parser.parse_args(argv)
    try:
        service = build_service(load_settings())
        accounts = service.registry.names if args.all else [args.account]
        failed = 0
        for account in accounts:
            arguments = {"format": args.format, **({"account": account} if account else {})}
            envelope = run_tool(get_tool("klaviyo_get_weekly_digest"), service, arguments,
                                CallContext(Deadline(args.deadline), caller="cli"))  # fmt: skip
            data = envelope["data"]
            failed += bool(data["missing"])
            text = "\n".join(data["lines"]) + "\n"
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"{data['account']}.{args.format}").write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text + ("\n" if len(accounts) > 1 else ""))
    except KlaviyoMCPError as exc:
        sys.stderr.write(f"{exc.code}: {exc.message}\n")
        return 2
    return 1 if failed else 0

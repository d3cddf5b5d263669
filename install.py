"""python install.py: from a fresh checkout to Claude Desktop and Claude Code in one command.

    .venv/bin/python install.py                      scaffold, validate, print the MCP entries
    .venv/bin/python install.py --check-api          ...and ask Klaviyo whether each key works
    .venv/bin/python install.py --write              ...and add the entry to Claude Desktop's config
    .venv/bin/python install.py --write --project-dir ~/work/reports   ...and to that project's .mcp.json
    .venv/bin/python install.py --sandbox [--write]  the server on the embedded sandbox: no account, no key

Steps, in order, stopping at the first failure (exit 1, with the reason on stderr):

1. scaffold ``.env`` and ``accounts.toml`` templates in the per-user config dir (never
   replacing a file without ``--force``);
2. validate them exactly as the server does at start-up (``load_settings`` + ``load_registry``);
3. with ``--check-api``, ping Klaviyo once per account through the product's client, probe
   each scope the catalog's tools need with one cheap GET, and record the account's timezone
   in ``accounts.toml`` when it has none;
4. print the MCP server entry (absolute paths to this venv's python and ``server.py``) and, with
   ``--write``, merge it into ``claude_desktop_config.json`` and ``<project>/.mcp.json``,
   keeping every other server and key. A file that is not valid JSON is never touched.

Keys are never printed: only the names of the variables that hold them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

try:
    import httpx

    from klaviyo_analytics import paths
    from klaviyo_analytics.config import SETTINGS, Settings, load_settings, merged_environment
    from klaviyo_analytics.errors import KlaviyoMCPError, MissingScopeError, UpstreamAuthError
    from klaviyo_analytics.klaviyo.accounts import Account, AccountRegistry, load_registry
    from klaviyo_analytics.klaviyo.client import KlaviyoClient
    from klaviyo_analytics.klaviyo.deadline import Deadline
    from klaviyo_analytics.klaviyo.endpoints import ENDPOINTS
    from klaviyo_analytics.service.metrics import CONVERSION_METRIC_NAME
    from klaviyo_analytics.tools import ToolSpec, visible_tools
    from klaviyo_sandbox.claude import DEFAULT_TIME_SCALE, SYNTHETIC_NOTICE
    from klaviyo_sandbox.claude import entry as sandbox_entry
except ModuleNotFoundError as missing:  # run by a python without the project's packages
    sys.stderr.write(
        f"install.py needs the project's packages ({missing.name} is not installed): "
        "run `make venv`, then `.venv/bin/python install.py`\n"
    )
    raise SystemExit(1) from None

REPO = Path(__file__).resolve().parent
SERVER = REPO / "server.py"
SERVER_NAME = "klaviyo"
SANDBOX_NAME = "klaviyo-sandbox"
DESKTOP_FILE = "claude_desktop_config.json"
# One GET per scope is enough to tell "missing scope" (403) from "fine"; a few collections
# need a parameter to be a valid request at all.
PROBE_PARAMS: dict[str, dict[str, str]] = {"get_campaigns": {"filter": "equals(messages.channel,'email')"}}
PROBE_SECONDS = 30.0
# How scope states are reported; any other state is the error code of a probe that failed otherwise.
SCOPE_LABELS = {
    "ok": "scopes present",
    "missing": "scopes MISSING",
    "unchecked": "not checked (writes have no harmless probe)",
}


class InstallError(Exception):
    """A step failed; the message says what to do."""


# -- 1. scaffolding -------------------------------------------------------------------------------


def _shown_default(value: Any) -> str:
    if value is None or value == ():
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def env_template() -> str:
    """A per-user .env: the key to fill in, and every optional setting commented out at its default
    (a pinned default would outlive upgrades: this file serves every checkout)."""
    lines = [
        "# klaviyo-mcp settings for this user (written by install.py). A real environment variable wins.",
        "",
        "# Klaviyo private API keys, one per account, named by api_key_env in accounts.toml.",
        "KLAVIYO_ACME_KEY=",
        "",
        "# Optional settings, shown at their defaults; uncomment to change one.",
    ]
    for setting in SETTINGS:
        lines += [f"# {setting.help}", f"# {setting.name}={_shown_default(setting.default)}"]
    return "\n".join(lines) + "\n"


ACCOUNTS_TEMPLATE = """\
# Klaviyo accounts the server may use (written by install.py). Safe to share: it names the
# environment variable holding each private key, never the key.
#
# [slug]                 the account's name in tool calls: lower-case letters, digits, - and _
# api_key_env            the variable in .env that holds this account's private API key
# label                  a readable name
# conversion_metric_id   (optional) the metric conversions are attributed to; `install.py --check-api`
#                        finds the account's "Placed Order" metric and fills it in (without it, the
#                        server uses that metric and says so in its answers)
# timezone (optional)    the account's IANA timezone; `install.py --check-api` fills it in

[acme]
api_key_env = "KLAVIYO_ACME_KEY"
label = "Acme Storefront"
"""


def scaffold(config_dir: Path, force: bool) -> list[tuple[Path, str]]:
    """Create the templates; an existing file is kept unless ``force``. Returns (path, what happened)."""
    try:
        config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InstallError(f"cannot create the config dir {config_dir}: {exc.strerror or exc}") from None
    done = []
    for name, text, mode in ((".env", env_template(), 0o600), ("accounts.toml", ACCOUNTS_TEMPLATE, 0o644)):
        path = config_dir / name
        if path.exists() and not force:
            done.append((path, "kept (use --force to replace it)"))
            continue
        existed = path.exists()
        write_atomically(path, text, mode)
        done.append((path, "replaced" if existed else "created"))
    return done


def write_atomically(path: Path, text: str, mode: int | None = None) -> None:
    """Write via a temporary file in the same directory, so a crash never leaves half a file."""
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        keep_mode = path.stat().st_mode & 0o777 if path.exists() else mode
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if keep_mode is not None:
            tmp.chmod(keep_mode)
        tmp.replace(path)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise InstallError(f"cannot write {path}: {exc.strerror or exc}") from None


# -- 2. validation (the server's own start-up checks) -----------------------------------------------


def validate(environ: Mapping[str, str] | None, config_dir: Path) -> tuple[Settings, AccountRegistry]:
    settings = load_settings(environ, config_dir=config_dir)
    return settings, load_registry(settings)


# -- 3. the API check -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    operation: str
    path: str
    params: Mapping[str, str]


def scope_probes() -> dict[str, Probe]:
    """For each scope, the first parameter-free collection GET in the endpoints table that needs only it."""
    probes: dict[str, Probe] = {}
    for ep in ENDPOINTS:
        if ep.method == "GET" and ep.read and not ep.forbidden and "{" not in ep.template and len(ep.scopes) == 1:
            probes.setdefault(ep.scopes[0], Probe(ep.operation_id, ep.template, PROBE_PARAMS.get(ep.operation_id, {})))
    return probes


@dataclass
class AccountCheck:
    slug: str
    ok: bool = False
    problem: str | None = None
    timezone: str | None = None
    # Ids of the account's "Placed Order" metrics, when accounts.toml has no usable conversion_metric_id.
    metric_candidates: list[tuple[str, str]] = field(default_factory=list)
    scopes: dict[str, str] = field(default_factory=dict)  # scope -> "ok" | "missing" | "unchecked" | error code
    warnings: list[str] = field(default_factory=list)

    def scope_lines(self) -> list[tuple[str, list[str]]]:
        lines = []
        for state, label in SCOPE_LABELS.items():
            scopes = [scope for scope, value in sorted(self.scopes.items()) if value == state]
            if scopes:
                lines.append((label, scopes))
        failed = [f"{scope} ({value})" for scope, value in sorted(self.scopes.items()) if value not in SCOPE_LABELS]
        return lines + ([("could not check", failed)] if failed else [])

    def tools_lacking(self, tools: Sequence[ToolSpec]) -> dict[str, list[str]]:
        lacking = {t.name: sorted(s for s in t.scopes if self.scopes.get(s) == "missing") for t in tools}
        return {name: scopes for name, scopes in lacking.items() if scopes}


def check_account(client: KlaviyoClient, account: Account, needed: Sequence[str]) -> AccountCheck:
    result = AccountCheck(account.slug)
    try:
        document = client.get(account, "/api/accounts", deadline=Deadline(PROBE_SECONDS), cache_ttl=0)
    except UpstreamAuthError:
        result.problem = f"Klaviyo rejected the key in {account.api_key_env}: use a valid private API key"
        return result
    except MissingScopeError:
        result.scopes["accounts:read"] = "missing"
        document = None
    except KlaviyoMCPError as exc:
        result.problem = f"{exc.code}: {exc.message}"
        return result
    result.ok = True
    if document is not None:
        result.scopes["accounts:read"] = "ok"
        items = document.get("data") or [{}]
        result.timezone = (items[0].get("attributes") or {}).get("timezone") or None
    probes = scope_probes()
    for scope in sorted(set(needed) - set(result.scopes)):
        probe = probes.get(scope)
        if probe is None:
            result.scopes[scope] = "unchecked"
            continue
        deadline = Deadline(PROBE_SECONDS)
        try:
            # The metric list is short and the whole of it shows whether conversion_metric_id exists.
            if probe.operation == "get_metrics":
                items = client.get_all(account, probe.path, probe.params, deadline=deadline, cache_ttl=0)
            else:
                items = client.get(account, probe.path, probe.params, deadline=deadline, cache_ttl=0)["data"]
        except MissingScopeError:
            result.scopes[scope] = "missing"
            continue
        except KlaviyoMCPError as exc:
            result.scopes[scope] = exc.code
            continue
        result.scopes[scope] = "ok"
        if probe.operation == "get_metrics" and not any(m.get("id") == account.conversion_metric_id for m in items):
            result.metric_candidates = [
                (str(m["id"]), str(((m.get("attributes") or {}).get("integration") or {}).get("name") or "?"))
                for m in items
                if (m.get("attributes") or {}).get("name") == CONVERSION_METRIC_NAME
            ]
            if account.conversion_metric_id is not None:
                result.warnings.append(f"conversion_metric_id {account.conversion_metric_id} is not a metric here")
    return result


def record_timezone(path: Path, slug: str, timezone: str) -> bool:
    return record_field(path, slug, "timezone", timezone)


def record_field(path: Path, slug: str, name: str, value: str) -> bool:
    """Add ``name = "value"`` to the ``[slug]`` table, keeping every comment and line; False if unsure."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    header = re.compile(rf"^\s*\[\s*(?:{re.escape(slug)}|\"{re.escape(slug)}\")\s*\]\s*(?:#.*)?$")
    start = next((i for i, line in enumerate(lines) if header.match(line.rstrip("\r\n"))), None)
    if start is None:
        return False
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    last = max(i for i in range(start, end) if lines[i].strip() and not lines[i].lstrip().startswith("#"))
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    lines.insert(last + 1, f"{name} = {json.dumps(value)}\n")
    updated = "".join(lines)
    before, after = tomllib.loads(text), tomllib.loads(updated)
    if after.get(slug, {}).pop(name, None) != value or after != before:
        return False
    write_atomically(path, updated)
    return True


Chooser = Callable[[str, list[tuple[str, str]]], str | None]


def ask_on_terminal(slug: str, candidates: list[tuple[str, str]]) -> str | None:
    """Which of several "Placed Order" metrics counts conversions: asked only on a terminal."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None
    for number, (metric_id, integration) in enumerate(candidates, 1):
        print(f"      {number}. {metric_id} (from {integration})")
    answer = input(f"    which one does {slug!r} attribute conversions to? [1-{len(candidates)}, Enter: skip] ")
    return candidates[int(answer) - 1][0] if answer.strip().isdigit() and 0 < int(answer) <= len(candidates) else None


def record_metric(
    path: Path, account: Account, candidates: list[tuple[str, str]], out: TextIO, choose: Chooser
) -> None:
    ids = ", ".join(f"{metric_id} ({integration})" for metric_id, integration in candidates)
    if len(candidates) == 1:
        chosen: str | None = candidates[0][0]
    else:
        print(f"    several {CONVERSION_METRIC_NAME!r} metrics: {ids}", file=out)
        chosen = choose(account.slug, candidates)
    if chosen is None:
        print(f"    conversion_metric_id: add one of {ids} to [{account.slug}] in {path} by hand", file=out)
        return
    if account.conversion_metric_id is not None:
        print(f'    conversion_metric_id: replace it with "{chosen}" in {path}', file=out)
        return
    try:
        recorded = record_field(path, account.slug, "conversion_metric_id", chosen)
    except (OSError, InstallError, tomllib.TOMLDecodeError):
        recorded = False
    where = f"recorded in {path}" if recorded else f'add conversion_metric_id = "{chosen}" by hand'
    print(f"    conversion metric {CONVERSION_METRIC_NAME!r} {chosen}: {where}", file=out)


def check_api(
    settings: Settings,
    registry: AccountRegistry,
    out: TextIO,
    transport: httpx.BaseTransport | None = None,
    choose: Chooser = ask_on_terminal,
) -> bool:
    tools = visible_tools(settings.read_only)
    needed = sorted({"accounts:read", *(scope for tool in tools for scope in tool.scopes)})
    client = KlaviyoClient(settings, transport=transport)
    all_ok = True
    print(f"\nKlaviyo API check ({settings.klaviyo_base_url}):", file=out)
    try:
        for account in registry.accounts.values():
            result = check_account(client, account, needed)
            if not result.ok:
                all_ok = False
                print(f"  {account.slug}: FAILED: {result.problem}", file=out)
                continue
            print(f"  {account.slug}: key accepted", file=out)
            for label, scopes in result.scope_lines():
                print(f"    {label}: {', '.join(scopes)}", file=out)
            lacking = result.tools_lacking(tools)
            for name, scopes in lacking.items():
                print(f"    warning: {name} fails with MISSING_SCOPE: the key lacks {', '.join(scopes)}", file=out)
            if not lacking:
                print(f"    all {len(tools)} tools have the scopes they need", file=out)
            for warning in result.warnings:
                print(f"    warning: {warning}", file=out)
            if result.metric_candidates and registry.source is not None:
                record_metric(registry.source, account, result.metric_candidates, out, choose)
            if result.timezone and account.timezone is None and registry.source is not None:
                try:
                    recorded = record_timezone(registry.source, account.slug, result.timezone)
                except (OSError, InstallError, tomllib.TOMLDecodeError):
                    recorded = False
                where = f"recorded in {registry.source}" if recorded else f'add timezone = "{result.timezone}" by hand'
                print(f"    timezone {result.timezone}: {where}", file=out)
    finally:
        client.close()
    return all_ok


# -- 4. the MCP entries -----------------------------------------------------------------------------


def desktop_config_path(platform: str = sys.platform, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Claude" / DESKTOP_FILE
    if platform.startswith(("win", "cygwin")):
        appdata = env.get("APPDATA")
        return (Path(appdata) if appdata else home / "AppData" / "Roaming") / "Claude" / DESKTOP_FILE
    return home / ".config" / "Claude" / DESKTOP_FILE


def venv_python() -> Path:
    """This virtual environment's interpreter (not resolved: a venv's python is a symlink that must stay one)."""
    if sys.prefix != sys.base_prefix:
        return Path(sys.executable).absolute()
    for candidate in (REPO / ".venv" / "bin" / "python", REPO / ".venv" / "Scripts" / "python.exe"):
        if candidate.is_file():
            return candidate
    return Path(sys.executable).absolute()


def server_entry(python: Path, config_dir: Path) -> dict[str, Any]:
    """The entry as Claude runs it: absolute paths, and the config dir in its own environment (Claude
    starts the server from elsewhere with an environment of its own, so nothing may be left implied)."""
    return {"command": str(python), "args": [str(SERVER)], "env": {paths.CONFIG_DIR_VARIABLE: str(config_dir)}}


def merge_server(path: Path, name: str, entry: Mapping[str, Any]) -> str:
    """Add or replace one server in an MCP config file, keeping everything else. Returns what happened."""
    document: dict[str, Any] = {}
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InstallError(f"cannot read {path}: {exc}") from None
        if text.strip():
            try:
                document = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InstallError(
                    f"{path} is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}); "
                    "fix it or move it away and run again (it was not changed)"
                ) from None
            if not isinstance(document, dict):
                raise InstallError(f"{path} holds JSON but not an object; fix it and run again (it was not changed)")
    servers = document.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise InstallError(f'"mcpServers" in {path} is not an object; fix it and run again (it was not changed)')
    if servers.get(name) == entry:
        return "unchanged"
    what = "updated" if name in servers else "added"
    document["mcpServers"] = {**servers, name: dict(entry)}
    write_atomically(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n", 0o644)
    return what


# -- the command ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="install.py", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config-dir", type=Path, help="where .env and accounts.toml live (default: per-user dir)")
    parser.add_argument("--no-scaffold", action="store_true", help="do not create the templates; only validate")
    parser.add_argument("--force", action="store_true", help="replace existing .env and accounts.toml templates")
    parser.add_argument("--check-api", action="store_true", help="ping Klaviyo per account and probe key scopes")
    parser.add_argument("--write", action="store_true", help="add the server to the Claude config files")
    parser.add_argument("--desktop-config", type=Path, help="Claude Desktop config file (default: per-OS path)")
    parser.add_argument("--project-dir", type=Path, help="with --write, also add the server to DIR/.mcp.json")
    parser.add_argument("--name", help=f"server name in the configs (default: {SERVER_NAME}, or {SANDBOX_NAME})")
    parser.add_argument(
        "--sandbox", action="store_true", help="register the server on the embedded Klaviyo sandbox (no account)"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help=f"with --sandbox: multiplies Klaviyo's rate-limit windows (default {DEFAULT_TIME_SCALE}; 1 = real limits)",
    )
    parser.add_argument("--state-dir", type=Path, help="with --sandbox: its config and ledger (default: per-user)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    args = _parser().parse_args(argv)
    out = sys.stdout
    if args.sandbox:
        return install_sandbox(args, out)
    args.name = args.name or SERVER_NAME
    config_dir = (args.config_dir.expanduser() if args.config_dir else paths.user_config_dir()).absolute()
    scaffolded = False
    try:
        if not args.no_scaffold:
            for path, what in scaffold(config_dir, args.force):
                scaffolded |= what in {"created", "replaced"}
                print(f"{path}: {what}", file=out)
        try:
            settings, registry = validate(environ, config_dir)
        except KlaviyoMCPError as exc:
            # The entries are right already; what is left is the user's to fill in, so show both.
            print("\nstill to do before the server can start:", file=out)
            for item in still_to_fill(config_dir, exc, environ):
                print(f"  - {item}", file=out)
            print_entries(args, config_dir, out)
            message = f"{exc.code}: {exc.message}"
            if scaffolded:
                message += f"\nfill in {config_dir / '.env'} and {config_dir / 'accounts.toml'}, then run again"
            raise InstallError(message) from None
        print(f"\naccounts from {registry.source}:", file=out)
        for account in registry.accounts.values():
            print(f"  {account.slug:<16} {account.label} (key from {account.api_key_env})", file=out)
        if args.check_api and not check_api(settings, registry, out, transport):
            raise InstallError("the Klaviyo API check failed for at least one account (see above)")
        write_entries(args, config_dir, out)
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def still_to_fill(config_dir: Path, error: KlaviyoMCPError, environ: Mapping[str, str] | None) -> list[str]:
    """What a newcomer still has to write, most specific first: the failing check, then every key."""
    items = [error.message]
    dotenv = config_dir / ".env"
    try:
        document = tomllib.loads((config_dir / "accounts.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return items
    env = merged_environment(environ, config_dir)
    for slug, entry in document.items():
        key_env = entry.get("api_key_env") if isinstance(entry, Mapping) else None
        if isinstance(key_env, str) and not env.get(key_env, "").strip() and key_env not in error.message:
            items.append(f"the private API key of {slug!r} after {key_env}= in {dotenv}")
    return items


def print_entries(args: argparse.Namespace, config_dir: Path, out: TextIO) -> dict[str, Any]:
    entry = server_entry(venv_python(), config_dir)
    snippet = json.dumps({"mcpServers": {args.name: entry}}, indent=2)
    print(f"\nMCP server entry (this machine's absolute paths):\n{snippet}", file=out)
    return entry


def write_entries(args: argparse.Namespace, config_dir: Path, out: TextIO) -> None:
    entry = print_entries(args, config_dir, out)
    desktop = (args.desktop_config.expanduser() if args.desktop_config else desktop_config_path()).absolute()
    if not args.write:
        print(f"\nClaude Desktop: add it to {desktop}, or run again with --write", file=out)
        print("Claude Code: run again with --write --project-dir DIR, or:", file=out)
        variable = f"{paths.CONFIG_DIR_VARIABLE}={entry['env'][paths.CONFIG_DIR_VARIABLE]}"
        print(
            f"  claude mcp add --scope user --env {variable} {args.name} -- {entry['command']} {entry['args'][0]}",
            file=out,
        )
        return
    write_entry(args, args.name, entry, out)


def write_entry(args: argparse.Namespace, name: str, entry: Mapping[str, Any], out: TextIO) -> None:
    """Merge ``entry`` into Claude Desktop's config and, with --project-dir, that project's .mcp.json
    (this checkout's too: the paths are absolute, so Claude Code starts it from any directory)."""
    desktop = (args.desktop_config.expanduser() if args.desktop_config else desktop_config_path()).absolute()
    print(f"\nClaude Desktop ({desktop}): server {name!r} {merge_server(desktop, name, entry)}", file=out)
    print("  restart Claude Desktop to load it", file=out)
    if args.project_dir is not None:
        project = args.project_dir.expanduser().absolute()
        if not project.is_dir():
            raise InstallError(f"--project-dir {project} is not a directory")
        mcp_json = project / ".mcp.json"
        print(f"Claude Code ({mcp_json}): server {name!r} {merge_server(mcp_json, name, entry)}", file=out)


def install_sandbox(args: argparse.Namespace, out: TextIO) -> int:
    """The entry that runs the server on the embedded sandbox: nothing to fill in, nothing to validate."""
    name = args.name or SANDBOX_NAME
    if not 0 < args.time_scale <= 1:
        print("error: --time-scale must be above 0 and at most 1", file=sys.stderr)
        return 1
    entry = sandbox_entry(venv_python(), args.time_scale, args.state_dir)
    print(json.dumps({"mcpServers": {name: entry}}, indent=2), file=out)
    print(f"\n{SYNTHETIC_NOTICE}", file=out)
    print(
        f"Rate-limit windows run {1 / args.time_scale:g}x faster than Klaviyo's (--time-scale {args.time_scale:g}), "
        "so a conversation is not held up by a report endpoint's 2 calls a minute; "
        "--time-scale 1 gives the real limits.",
        file=out,
    )
    try:
        if not args.write:
            desktop = args.desktop_config or desktop_config_path()
            print(f"\nClaude Desktop: add it to {desktop}, or run again with --write", file=out)
            command = " ".join([str(entry["command"]), *map(str, entry["args"])])
            print(f"Claude Code: claude mcp add --scope user --env PYTHONPATH={REPO} {name} -- {command}", file=out)
            return 0
        write_entry(args, name, entry, out)
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

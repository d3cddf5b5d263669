"""``.env.example`` and ``docs/configuration.md``, generated from the settings table (``config.SETTINGS``).

Both files are committed so a reader sees them on GitHub; ``make docs`` rewrites them and a test holds
them byte-equal to what the table renders here, so a setting added, renamed or re-described in
``config.py`` cannot be forgotten in either.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from klaviyo_analytics.config import GROUPS, SETTINGS, Setting
from klaviyo_analytics.paths import REPO_ROOT

ENV_EXAMPLE = REPO_ROOT / ".env.example"
CONFIGURATION_PAGE = REPO_ROOT / "docs" / "configuration.md"
REGENERATE = "make docs"  # or: .venv/bin/python -m klaviyo_analytics.render.docs
NOTICE = f"generated from klaviyo_analytics/config.py by `{REGENERATE}`; do not edit by hand"


def shown_default(value: Any) -> str:
    """A default as it would be written in a .env file (empty when the setting is unset by default)."""
    if value is None or value == ():
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _by_group() -> list[tuple[str, str, list[Setting]]]:
    return [(title, intro, [s for s in SETTINGS if s.group == key]) for key, (title, intro) in GROUPS.items()]


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(text, width=98, break_long_words=False, break_on_hyphens=False)]


def render_env_example() -> str:
    lines = [
        f"# klaviyo-mcp settings ({NOTICE}).",
        "# Copy to .env in the per-user config dir (see docs/configuration.md) or the repository root; a real",
        "# environment variable always wins. Lines left commented out keep the default shown.",
        "",
        "# Klaviyo private API keys: one variable per account, named by api_key_env in accounts.toml.",
        "KLAVIYO_ACME_KEY=",
    ]
    for title, intro, settings in _by_group():
        lines += ["", f"# === {title} ===", *_comment(intro)]
        for setting in settings:
            notes = [setting.help]
            if setting.secret:
                notes.append("Secret: keep it in .env or the environment, never in a file you commit.")
            if setting.old:
                notes.append(f"Formerly {setting.old}.")
            default = shown_default(setting.default)
            # An empty default is a blank to fill in; a real default stays commented so a copied .env
            # does not pin today's value past an upgrade.
            assignment = f"# {setting.name}={default}" if default else f"{setting.name}="
            lines += [*_comment(" ".join(notes)), assignment]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_configuration_page() -> str:
    lines = [
        "# Configuration",
        "",
        f"<!-- {NOTICE} -->",
        "",
        "Settings come from the environment, then `.env` in the per-user config directory",
        "(`~/.config/klaviyo-mcp/` on Linux, `~/Library/Application Support/klaviyo-mcp/` on macOS,",
        "`%LOCALAPPDATA%\\klaviyo-mcp\\` on Windows; `KLAVIYO_MCP_CONFIG_DIR` picks another, and only the real",
        "environment can set it), then `.env` in the repository root; a real environment variable always wins.",
        "A bad value stops the server at start with `CONFIG_ERROR` naming the variable, never its value.",
        "[`.env.example`](../.env.example) lists the same settings with their defaults.",
        "",
        "Each account's private API key is in the variable its `api_key_env` in `accounts.toml` names",
        "(e.g. `KLAVIYO_ACME_KEY`). Settings marked *secret* belong in `.env` or the environment only.",
        "",
        "Every setting starts with `KLAVIYO_` (`KLAVIYO_MCP_` unless it is about the Klaviyo API itself), except",
        "`WEB_CONCURRENCY` (gunicorn's) and `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's). The old names",
        "listed under [Renamed settings](#renamed-settings) still work for one release, with a warning on stderr.",
    ]
    for title, intro, settings in _by_group():
        lines += ["", f"## {title}", "", intro, "", "| variable | default | description |", "|---|---|---|"]
        for setting in settings:
            default = shown_default(setting.default)
            shown = f"`{default}`" if default else ""
            secret = " *Secret.*" if setting.secret else ""
            lines.append(f"| `{setting.name}` | {_cell(shown)} | {_cell(setting.help)}{secret} |")
    lines += [
        "",
        "## Renamed settings",
        "",
        "Read under their old names for one release, with a warning that names the new one; when both are",
        "set, the new name wins and the old one is ignored (with a warning).",
        "",
        "| old name | new name |",
        "|---|---|",
        *(f"| `{s.old}` | `{s.name}` |" for s in SETTINGS if s.old),
    ]
    return "\n".join(lines) + "\n"


GENERATED: dict[Path, Any] = {ENV_EXAMPLE: render_env_example, CONFIGURATION_PAGE: render_configuration_page}


def stale(root: Path = REPO_ROOT) -> list[str]:
    """The generated files under ``root`` whose text differs from what the table renders."""
    found = []
    for path, render in GENERATED.items():
        target = root / path.relative_to(REPO_ROOT)
        if not target.is_file() or target.read_text(encoding="utf-8") != render():
            found.append(str(path.relative_to(REPO_ROOT)))
    return found


def write(root: Path = REPO_ROOT) -> None:
    for path, render in GENERATED.items():
        target = root / path.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(), encoding="utf-8")

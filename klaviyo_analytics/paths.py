"""Where the product looks for its files.

The per-user directories come from platformdirs so that one `.env` and one `accounts.toml`
serve every checkout; the repository root is the fallback for development.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "klaviyo-mcp"

REPO_ROOT = Path(__file__).resolve().parent.parent


# Where `.env` and `accounts.toml` live when not the per-user default: `install.py --config-dir DIR`
# writes it into the MCP entry, because Claude starts the server with an environment of its own.
CONFIG_DIR_VARIABLE = "KLAVIYO_MCP_CONFIG_DIR"


def user_config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_VARIABLE, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_search_path(filename: str, config_dir: Path | None = None) -> list[Path]:
    """Candidate locations of a config file, highest priority first."""
    return [(config_dir or user_config_dir()) / filename, REPO_ROOT / filename]


def find_config_file(filename: str, config_dir: Path | None = None) -> Path | None:
    for candidate in config_search_path(filename, config_dir):
        if candidate.is_file():
            return candidate
    return None

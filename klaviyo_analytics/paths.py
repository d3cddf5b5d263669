"""Where the product looks for its files.

The per-user directories come from platformdirs so that one `.env` and one `accounts.toml`
serve every checkout; the repository root is the fallback for development.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "klaviyo-mcp"

REPO_ROOT = Path(__file__).resolve().parent.parent


def user_config_dir() -> Path:
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

"""Where the product looks for its files.

The per-user directories come from platformdirs so that one `.env` and one `accounts.toml`
serve every checkout; the repository root is the fallback for development.
"""

from __future__ import annotations

import os
import shlex
import site
import sys
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


# Written by scripts/bootstrap-venv.sh into the venv's site-packages: the checkout on every import path
# of that interpreter, so `<venv>/bin/python -m klaviyo_analytics …` runs from any directory.
CHECKOUT_PTH = "klaviyo-mcp.pth"


def _checkout_registered() -> bool:
    for directory in site.getsitepackages():
        pth = Path(directory) / CHECKOUT_PTH
        try:
            if Path(pth.read_text(encoding="utf-8").strip()).resolve() == REPO_ROOT:
                return True
        except OSError:
            continue
    return False


def cli_command() -> str:
    """``python -m klaviyo_analytics`` as a person runs it from any directory, in another shell: this
    interpreter by absolute path (not resolved: a venv's python is a symlink that must stay one), the
    checkout on PYTHONPATH when the venv does not register it, and the config dir when not the default."""
    parts = []
    config_dir = user_config_dir()
    if config_dir != Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)):
        parts.append(f"{CONFIG_DIR_VARIABLE}={shlex.quote(str(config_dir.absolute()))}")
    if not _checkout_registered():
        parts.append(f"PYTHONPATH={shlex.quote(str(REPO_ROOT))}")
    parts += [shlex.quote(str(Path(sys.executable).absolute())), "-m", "klaviyo_analytics"]
    return " ".join(parts)

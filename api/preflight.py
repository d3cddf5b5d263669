"""What ``create_app`` refuses, checked without building anything.

gunicorn's master runs :func:`preflight` before it forks a worker (``api/gunicorn_hooks.py``): a missing
``accounts.toml``, an unset key or no REST credential stops the master with one line naming the file or
variable, instead of every worker dying with a traceback while a health-check loop waits.
"""

from __future__ import annotations

from klaviyo_analytics.auth.users import UserDirectory, load_directory
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.klaviyo.accounts import AccountRegistry, load_registry


def require_rest_credential(settings: Settings) -> None:
    if not settings.rest_tokens and settings.users_file is None:
        raise ConfigError(
            "no REST credential configured: set KLAVIYO_MCP_REST_API_KEY or KLAVIYO_MCP_REST_API_TOKENS "
            "(or KLAVIYO_MCP_USERS_FILE with users' tokens_env) before starting the REST API",
            variable="KLAVIYO_MCP_REST_API_KEY",
        )


def require_tokens(directory: UserDirectory) -> None:
    if not directory.tokens:
        raise ConfigError(
            "no REST credential configured: KLAVIYO_MCP_USERS_FILE gives no user a token; add tokens_env to a user",
            variable="KLAVIYO_MCP_USERS_FILE",
        )


def preflight(settings: Settings) -> AccountRegistry:
    """Every check a worker's ``create_app`` makes of the configuration, in the same order."""
    require_rest_credential(settings)
    registry = load_registry(settings)
    require_tokens(load_directory(settings, registry.names if settings.users_file else ()))
    return registry

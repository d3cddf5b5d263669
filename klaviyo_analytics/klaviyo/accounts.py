"""The account registry: canonical slugs from ``accounts.toml``, keys from the environment.

``accounts.toml`` is safe to commit: it names the *environment variable* that holds each
account's private key, never the key. A key that cannot be resolved fails fast at start-up
with ``CONFIG_ERROR`` naming the variable.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from klaviyo_analytics import paths
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError, InvalidArgumentError, UnknownAccountError
from klaviyo_analytics.klaviyo.redact import register_secret

SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
METRIC_ID_PATTERN = re.compile(r"[A-Za-z0-9]{1,64}")
REQUIRED_KEYS = ("api_key_env", "label")
KEY_FINGERPRINT_HMAC_KEY = b"klaviyo-mcp/cache-namespace/v1"
KNOWN_KEYS = (*REQUIRED_KEYS, "conversion_metric_id", "timezone")


@dataclass(frozen=True)
class Account:
    slug: str
    label: str
    api_key_env: str
    # Optional: without it the service uses the account's "Placed Order" metric and says to record it.
    conversion_metric_id: str | None
    api_key: str = field(repr=False)
    # The account's IANA timezone; optional (install.py --check-api records it). Without it the
    # service asks Klaviyo once a day, so metric buckets line up with the reporting API's.
    timezone: str | None = None

    @property
    def key_fingerprint(self) -> str:
        """Names the key in the cache's namespace, never the key: a changed key must not be answered from
        reads fetched with the old one (they may succeed where the new key fails). A keyed hash, so the
        name cannot be matched against a plain hash of the key; the HMAC key is fixed, as every process
        sharing a quota store must derive the same name."""
        return hmac.new(KEY_FINGERPRINT_HMAC_KEY, self.api_key.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class AccountRegistry:
    accounts: Mapping[str, Account]
    source: Path | None = None

    @property
    def names(self) -> list[str]:
        return sorted(self.accounts)

    @property
    def default(self) -> Account | None:
        return next(iter(self.accounts.values())) if len(self.accounts) == 1 else None

    def resolve(self, name: str | None) -> Account:
        """The account a tool call is about: named, or the only one configured."""
        if name is None or name == "":
            if self.default is not None:
                return self.default
            raise InvalidArgumentError(
                f"account is required when several accounts are configured; one of: {', '.join(self.names)}",
                field="account",
                allowed=self.names,
            )
        account = self.accounts.get(name)
        if account is None:
            available = ", ".join(self.names) or "(none configured)"
            raise UnknownAccountError(
                f"unknown account {name!r}; available accounts: {available}",
                field="account",
                available_accounts=self.names,
            )
        return account


def accounts_file_path(settings: Settings) -> Path:
    if settings.accounts_file is not None:
        if not settings.accounts_file.is_file():
            raise ConfigError(
                f"KLAVIYO_MCP_ACCOUNTS_FILE points to a file that does not exist: {settings.accounts_file}",
                variable="KLAVIYO_MCP_ACCOUNTS_FILE",
            )
        return settings.accounts_file
    found = paths.find_config_file("accounts.toml", settings.config_dir)
    if found is None:
        searched = ", ".join(str(p) for p in paths.config_search_path("accounts.toml", settings.config_dir))
        raise ConfigError(
            f"no accounts.toml found (searched {searched}); run `python install.py` or set KLAVIYO_MCP_ACCOUNTS_FILE",
            variable="KLAVIYO_MCP_ACCOUNTS_FILE",
        )
    return found


def parse_accounts(
    document: Mapping[str, object], env: Mapping[str, str], dotenv: Path | None = None
) -> dict[str, Account]:
    """Validate a parsed accounts.toml and resolve each key from ``env``."""
    accounts: dict[str, Account] = {}
    for slug, entry in document.items():
        if not SLUG_PATTERN.fullmatch(slug):
            raise ConfigError(f"account name {slug!r} is not a valid slug ([a-z0-9][a-z0-9_-]{{0,63}})", account=slug)
        if not isinstance(entry, Mapping):
            raise ConfigError(f"account {slug!r} must be a table with {', '.join(REQUIRED_KEYS)}", account=slug)
        _refuse_unknown_keys(slug, entry)
        missing = [k for k in REQUIRED_KEYS if not isinstance(entry.get(k), str) or not entry.get(k)]
        if missing:
            raise ConfigError(f"account {slug!r} is missing {', '.join(missing)}", account=slug)
        key_env = str(entry["api_key_env"])
        if not ENV_NAME_PATTERN.fullmatch(key_env):
            raise ConfigError(f"account {slug!r}: api_key_env must be an environment variable name", account=slug)
        raw_metric = entry.get("conversion_metric_id")
        metric_id = None if raw_metric in (None, "") else str(raw_metric)
        if metric_id is not None and not METRIC_ID_PATTERN.fullmatch(metric_id):
            raise ConfigError(f"account {slug!r}: conversion_metric_id must be alphanumeric", account=slug)
        timezone = entry.get("timezone")
        if timezone is not None and not _is_timezone(timezone):
            raise ConfigError(f"account {slug!r}: timezone must be an IANA name like 'America/New_York'", account=slug)
        api_key = env.get(key_env, "").strip()
        if not api_key:
            raise ConfigError(
                f"environment variable {key_env} for account {slug!r} is not set; add it to {dotenv or '.env'}",
                variable=key_env,
                account=slug,
            )
        register_secret(api_key)
        accounts[slug] = Account(slug, str(entry["label"]), key_env, metric_id, api_key, timezone)
    return accounts


def _refuse_unknown_keys(slug: str, entry: Mapping[str, object]) -> None:
    """A typo (``lable``) is named with the key it was probably meant to be, before it shows up as a
    missing required key with no hint of why."""
    for key in entry:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"account {slug!r}: unknown key {key!r} in accounts.toml; {hint}allowed: {', '.join(KNOWN_KEYS)}",
                account=slug,
                field=key,
                allowed=list(KNOWN_KEYS),
            )


def _is_timezone(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def load_registry(settings: Settings) -> AccountRegistry:
    path = accounts_file_path(settings)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", variable="KLAVIYO_MCP_ACCOUNTS_FILE") from None
    accounts = parse_accounts(document, settings.env, paths.config_search_path(".env", settings.config_dir)[0])
    if not accounts:
        raise ConfigError(f"{path} defines no accounts", variable="KLAVIYO_MCP_ACCOUNTS_FILE")
    return AccountRegistry(accounts, path)

"""Settings, loaded once at the edge.

Sources, highest priority first: the real environment, then ``.env`` in the per-user
config directory, then ``.env`` in the repository root. Every setting the code reads is
declared in :data:`SETTINGS` (a test keeps ``.env.example`` in step with it). A bad value
fails fast with ``CONFIG_ERROR`` naming the variable, never echoing its value: the
variable might hold a secret.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values

from klaviyo_analytics import paths
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.redact import register_env_secrets, register_secret

DEFAULT_BASE_URL = "https://a.klaviyo.com"
# The revision of the OpenAPI spec this product was built and tested against (revisions.py).
DEFAULT_REVISION = "2026-07-15"


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    secret: bool = False


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true/false")


def _number(raw: str, kind: type[float] | type[int]) -> float:
    # int()/float() errors quote the raw value, which may be a secret pasted in the wrong place.
    try:
        return kind(raw.strip())
    except ValueError:
        raise ValueError("expected a whole number" if kind is int else "expected a number") from None


def _nonneg_float(raw: str) -> float:
    value = _number(raw, float)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _positive_float(raw: str) -> float:
    value = _number(raw, float)
    if value <= 0:
        raise ValueError("must be > 0")
    return value


def _nonneg_int(raw: str) -> int:
    value = int(_number(raw, int))
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _port(raw: str) -> int:
    value = int(_number(raw, int))
    if not 0 < value < 65536:
        raise ValueError("must be 1-65535")
    return value


def _revision(raw: str) -> str:
    """A revision Klaviyo published (revisions.py) and still serves as itself today."""
    from klaviyo_analytics import revisions
    from klaviyo_analytics.clock import SYSTEM_CLOCK

    try:
        found = revisions.lookup(raw)
    except revisions.RevisionError as exc:
        what = "YYYY-MM-DD" if exc.kind == "malformed" else "a revision Klaviyo published"
        raise ValueError(
            f"expected {what}: one of {revisions.PUBLISHED[0]} … {revisions.latest()} (quarterly); "
            f"this product is built for {revisions.BUILT_FOR}"
        ) from None
    # The machine's date, never a pinned one: Klaviyo retires a revision on the real calendar.
    if found.status(SYSTEM_CLOCK.today()) == "retired":
        raise ValueError(
            f"that revision was retired on {found.retired} (Klaviyo serves a newer one in its place); "
            f"use {revisions.BUILT_FOR}, the revision this product is built for"
        )
    return found.name


def _today(raw: str) -> str:
    from klaviyo_analytics.clock import pinned

    pinned(raw)  # the error names the forms allowed
    return raw.strip()


def _url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http(s) URL")
    return value


def _tokens(raw: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in raw.split(",") if t.strip())


def _optional_path(raw: str) -> Path | None:
    return Path(raw).expanduser() if raw.strip() else None


def _optional_url(raw: str) -> str | None:
    return _url(raw) if raw.strip() else None


def _optional_str(raw: str) -> str | None:
    return raw.strip() or None


def _rate_limits(raw: str) -> str:
    """Flask-Limiter's notation, e.g. ``120/minute`` or ``120/minute;2000/hour``."""
    from limits import parse_many

    try:
        parse_many(raw.strip())
    except ValueError:
        raise ValueError("expected limits like 120/minute or 120/minute;2000/hour") from None
    return raw.strip()


def _storage_uri(raw: str) -> str:
    # The shape only: whether the scheme's driver is installed is checked when the REST API starts.
    import re

    if not re.fullmatch(r"(?!async\+)[a-z][a-z0-9+]*://\S*", raw.strip()):
        raise ValueError("expected a storage URI such as memory:// or redis://host:6379")
    return raw.strip()


def _quota_store(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if value == "memory://" or (value.startswith("sqlite:///") and len(value) > len("sqlite:///")):
        return value
    if value.startswith(("redis://", "rediss://", "unix://")) and len(value.split("://", 1)[1]) > 0:
        return value
    raise ValueError("expected memory://, sqlite:///path/to/quota.sqlite3 or redis://host:6379/0")


def _ledger_url(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    # Only the scheme is named: the rest of a database URL may carry its password.
    if value.startswith(("postgresql://", "postgres://")) and len(value.split("://", 1)[1]) > 0:
        return value
    raise ValueError("expected postgresql://user:password@host:5432/dbname")


def _positive_int(raw: str) -> int:
    value = int(_number(raw, int))
    if value < 1:
        raise ValueError("must be >= 1")
    return value


def _share(raw: str) -> float:
    value = _number(raw, float)
    if not 0 <= value <= 1:
        raise ValueError("must be between 0 and 1")
    return value


def _user_content(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"fence", "drop"}:
        raise ValueError("expected fence or drop")
    return value


def _oauth_mode(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"off", "embedded", "external"}:
        raise ValueError("expected off, embedded or external")
    return value


def _log_level(raw: str) -> str:
    value = raw.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting("ACCOUNTS_FILE", _optional_path, None, "Explicit path to accounts.toml (default: search path)."),
    Setting("KLAVIYO_BASE_URL", _url, DEFAULT_BASE_URL, "Klaviyo API base URL (the sandbox sets its own)."),
    Setting("KLAVIYO_REVISION", _revision, DEFAULT_REVISION, "Klaviyo API revision header."),
    Setting("KLAVIYO_MAX_RETRIES", _nonneg_int, 3, "Retries for 429, 5xx, timeouts, connection errors."),
    Setting("KLAVIYO_TIMEOUT_SECONDS", _positive_float, 30.0, "Timeout of one HTTP request to Klaviyo."),
    Setting("CACHE_TTL_SECONDS", _nonneg_float, 300.0, "TTL of cached successful reads; 0 disables."),
    Setting(
        "CACHE_TTL_CLOSED_SECONDS",
        _nonneg_float,
        86400.0,
        "TTL of a cached report whose window ended before today (account time); 0 disables.",
    ),
    Setting(
        "CACHE_TTL_OPEN_SECONDS",
        _nonneg_float,
        300.0,
        "TTL of a cached report whose window includes today (account time); 0 disables.",
    ),
    Setting("LIST_SIZE_CACHE_TTL_SECONDS", _nonneg_float, 3600.0, "TTL of cached list/segment sizes."),
    Setting("TOOL_DEADLINE_SECONDS", _positive_float, 45.0, "Wall-clock budget of one tool call."),
    Setting("RATE_LIMIT_TIME_SCALE", _positive_float, 1.0, "Scales rate windows and Retry-After (sandbox use)."),
    Setting(
        "KLAVIYO_MCP_TODAY",
        _today,
        None,
        "Pins the product's and the sandbox's today (YYYY-MM-DD or an ISO instant): demos, tests, benchmarks.",
    ),
    Setting("READ_ONLY", _bool, False, "Hide every write (propose/execute) tool."),
    Setting(
        "TOOLSETS",
        _tokens,
        (),
        "Offer only these toolsets, comma-separated (e.g. campaigns,flows,insights); default all.",
    ),
    Setting("LOG_LEVEL", _log_level, "INFO", "DEBUG, INFO, WARNING or ERROR (logs go to stderr)."),
    Setting("REST_HOST", str, "127.0.0.1", "Interface the REST API binds to."),
    Setting("REST_PORT", _port, 8080, "Port of the REST API."),
    Setting("REST_API_KEY", _optional_str, None, "A REST read token.", secret=True),
    Setting("REST_API_TOKENS", _tokens, (), "More REST read tokens, comma-separated.", secret=True),
    Setting("APPROVER_TOKENS", _tokens, (), "Tokens that may approve or reject actions.", secret=True),
    Setting(
        "USERS_FILE", _optional_path, None, "users.toml: users, their tokens' env vars and grants (default: none)."
    ),
    Setting("REQUIRE_SECOND_APPROVER", _bool, False, "Refuse an approval by the user who proposed the action."),
    Setting("REST_RATE_LIMIT", _rate_limits, "120/minute", "Requests per REST token (then 429 RATE_LIMITED)."),
    Setting("REST_RATE_LIMIT_STORAGE", _storage_uri, "memory://", "Store of REST rate counts: memory://, redis://…"),
    Setting("PROMETHEUS_MULTIPROC_DIR", _optional_path, None, "Dir where gunicorn workers share metrics (real env)."),
    Setting("LEDGER_PATH", _optional_path, None, "SQLite ledger path (default: per-user data dir)."),
    Setting(
        "LEDGER_URL", _ledger_url, None, "postgresql://… : the ledger on PostgreSQL instead of SQLite.", secret=True
    ),
    Setting(
        "APPROVAL_SECRET",
        _optional_str,
        None,
        "Key that signs approvals (default: a 0600 file in the config dir).",
        secret=True,
    ),
    Setting("ACTION_TTL_HOURS", _positive_float, 24.0, "How long a proposal may wait to be approved and run."),
    Setting("CONFIRM_WITH_ELICITATION", _bool, False, "Also ask the MCP user to confirm before execute."),
    Setting("USER_CONTENT", _user_content, "fence", "Account text (names, subjects): fence as data, or drop."),
    # The shared quota store (klaviyo_analytics/quota): pacing, daily budget, cache, single-flight.
    Setting(
        "QUOTA_STORE", _quota_store, None, "memory://, sqlite:///path or redis://host:port/db (default: by the ledger)."
    ),
    Setting("QUOTA_WARN_SHARE", _share, 0.1, "Warn when a tool spends more than this share of today's report budget."),
    Setting("CACHE_STALE_SECONDS", _nonneg_float, 604800.0, "How long expired reads stay to answer at the limit."),
    Setting("MCP_HOST", str, "127.0.0.1", "Interface the MCP Streamable HTTP server binds to."),
    Setting("MCP_PORT", _port, 8000, "Port of the MCP Streamable HTTP server."),
    Setting(
        "MCP_PUBLIC_URL", _optional_url, None, "Base URL clients reach the MCP server at (default http://host:port)."
    ),
    Setting(
        "MCP_ALLOWED_HOSTS", _tokens, (), "Host headers /mcp accepts, comma-separated (default: public URL's host)."
    ),
    Setting("MCP_ALLOWED_ORIGINS", _tokens, (), "Origin headers /mcp accepts, comma-separated (default: public URL)."),
    Setting(
        "MCP_MAX_BODY_BYTES", _positive_int, 1048576, "Largest request body the MCP HTTP server reads (413 past it)."
    ),
    Setting("MCP_HEADER_TIMEOUT_SECONDS", _positive_float, 10.0, "Time a client has to send its request headers."),
    Setting("MCP_BODY_TIMEOUT_SECONDS", _positive_float, 30.0, "Longest wait for the next piece of a request body."),
    Setting("MCP_MAX_CONNECTIONS", _positive_int, 200, "Open connections past which the MCP server answers 503."),
    Setting("OAUTH_MODE", _oauth_mode, "off", "off (static tokens only), embedded (own login) or external (an IdP)."),
    Setting(
        "OAUTH_ISSUER_URL", _optional_url, None, "Token issuer: the IdP (external), else the public URL (embedded)."
    ),
    Setting("OAUTH_JWKS_URL", _optional_url, None, "External mode: the IdP's JWKS URL."),
    Setting(
        "OAUTH_AUDIENCE", _optional_str, None, "External mode: the audience tokens must carry (default: /mcp URL)."
    ),
    Setting("OAUTH_USER_CLAIM", str, "sub", "External mode: the token claim naming the user in USERS_FILE."),
    Setting("OAUTH_ACCESS_TOKEN_SECONDS", _positive_int, 900, "Lifetime of an embedded access token."),
    Setting("OAUTH_REFRESH_TOKEN_DAYS", _positive_float, 30.0, "Lifetime of an embedded refresh token."),
    Setting(
        "OAUTH_STATE_PATH",
        _optional_path,
        None,
        "SQLite file of OAuth clients, codes and grants (default: LEDGER_URL's database, else data dir).",
    ),
    Setting(
        "OAUTH_SIGNING_KEY", _optional_str, None, "PEM key signing access tokens (default: a 0600 file).", secret=True
    ),
    Setting("OAUTH_LOGIN_RATE_LIMIT", _rate_limits, "5/minute", "Login attempts per user name and per client address."),
    Setting(
        "KLAVIYO_MCP_REGISTRATION_RATE_LIMIT",
        _rate_limits,
        "20/hour",
        "OAuth client registrations (/register) per client address.",
    ),
    Setting(
        "KLAVIYO_MCP_REGISTRATION_TOKEN",
        _optional_str,
        None,
        "If set, /register needs it as a Bearer token (RFC 7591 initial access token).",
        secret=True,
    ),
    Setting(
        "KLAVIYO_MCP_REGISTRATION_UNUSED_HOURS",
        _positive_float,
        24.0,
        "A registered OAuth client that completes no authorization in this time is deleted.",
    ),
    Setting(
        "KLAVIYO_MCP_REFRESH_REUSE_GRACE_SECONDS",
        _nonneg_float,
        5.0,
        "A used refresh token presented again within this time is a race (refused, grant kept), later a replay.",
    ),
    Setting("PUBLIC_BASE_URL", _optional_url, None, "Console/REST base URL in approve links (default: host:port)."),
    Setting("CONSOLE_SECRET_KEY", _optional_str, None, "Signs console sessions (default: a 0600 file).", secret=True),
    Setting("CONSOLE_SECURE_COOKIES", _bool, False, "Mark console cookies Secure even behind a TLS proxy."),
    Setting("CONSOLE_SESSION_MINUTES", _positive_float, 480.0, "How long a console sign-in lasts."),
    Setting("WEBHOOK_URL", _optional_url, None, "Receives proposal.waiting and action.executed events."),
    Setting("WEBHOOK_SECRET", _optional_str, None, "HMAC-SHA256 key that signs webhook events.", secret=True),
)


@dataclass(frozen=True)
class Settings:
    accounts_file: Path | None = None
    klaviyo_base_url: str = DEFAULT_BASE_URL
    klaviyo_revision: str = DEFAULT_REVISION
    klaviyo_max_retries: int = 3
    klaviyo_timeout_seconds: float = 30.0
    cache_ttl_seconds: float = 300.0
    cache_ttl_closed_seconds: float = 86400.0
    cache_ttl_open_seconds: float = 300.0
    list_size_cache_ttl_seconds: float = 3600.0
    tool_deadline_seconds: float = 45.0
    rate_limit_time_scale: float = 1.0
    klaviyo_mcp_today: str | None = None
    read_only: bool = False
    toolsets: tuple[str, ...] = ()
    log_level: str = "INFO"
    rest_host: str = "127.0.0.1"
    rest_port: int = 8080
    rest_api_key: str | None = None
    rest_api_tokens: tuple[str, ...] = ()
    approver_tokens: tuple[str, ...] = ()
    users_file: Path | None = None
    require_second_approver: bool = False
    rest_rate_limit: str = "120/minute"
    rest_rate_limit_storage: str = "memory://"
    prometheus_multiproc_dir: Path | None = None
    ledger_path: Path | None = None
    ledger_url: str | None = field(default=None, repr=False)
    approval_secret: str | None = field(default=None, repr=False)
    action_ttl_hours: float = 24.0
    confirm_with_elicitation: bool = False
    user_content: Literal["fence", "drop"] = "fence"
    quota_store: str | None = None
    quota_warn_share: float = 0.1
    cache_stale_seconds: float = 604800.0

    mcp_host: str = "127.0.0.1"
    mcp_port: int = 8000
    mcp_public_url: str | None = None
    mcp_allowed_hosts: tuple[str, ...] = ()
    mcp_allowed_origins: tuple[str, ...] = ()
    mcp_max_body_bytes: int = 1048576
    mcp_header_timeout_seconds: float = 10.0
    mcp_body_timeout_seconds: float = 30.0
    mcp_max_connections: int = 200
    oauth_mode: Literal["off", "embedded", "external"] = "off"
    oauth_issuer_url: str | None = None
    oauth_jwks_url: str | None = None
    oauth_audience: str | None = None
    oauth_user_claim: str = "sub"
    oauth_access_token_seconds: int = 900
    oauth_refresh_token_days: float = 30.0
    oauth_state_path: Path | None = None
    oauth_signing_key: str | None = field(default=None, repr=False)
    oauth_login_rate_limit: str = "5/minute"
    klaviyo_mcp_registration_rate_limit: str = "20/hour"
    klaviyo_mcp_registration_token: str | None = field(default=None, repr=False)
    klaviyo_mcp_registration_unused_hours: float = 24.0
    klaviyo_mcp_refresh_reuse_grace_seconds: float = 5.0
    public_base_url: str | None = None
    console_secret_key: str | None = None
    console_secure_cookies: bool = False
    console_session_minutes: float = 480.0
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # The merged environment (real env over .env files); API keys are looked up here by name.
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    config_dir: Path | None = field(default=None, compare=False)

    @property
    def rest_tokens(self) -> tuple[str, ...]:
        return ((self.rest_api_key,) if self.rest_api_key else ()) + self.rest_api_tokens

    @property
    def resolved_oauth_state_path(self) -> Path:
        return self.oauth_state_path or paths.user_data_dir() / "oauth.sqlite3"

    @property
    def resolved_ledger_path(self) -> Path:
        return self.ledger_path or paths.user_data_dir() / "ledger.sqlite3"

    @property
    def base_url(self) -> str:
        """Where people reach the REST app and its console (approve links point here)."""
        return self.public_base_url or f"http://{self.rest_host}:{self.rest_port}"

    def approval_key(self) -> bytes:
        """The key approvals are signed with (``actions.signing``)."""
        from klaviyo_analytics.actions.signing import load_key

        return load_key(self.approval_secret, self.config_dir)


def merged_environment(environ: Mapping[str, str] | None = None, config_dir: Path | None = None) -> dict[str, str]:
    """Repo-root .env, overridden by the per-user .env, overridden by the real environment."""
    merged: dict[str, str] = {}
    for dotenv_path in reversed(paths.config_search_path(".env", config_dir)):
        if dotenv_path.is_file():
            merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def load_settings(
    environ: Mapping[str, str] | None = None, *, config_dir: Path | None = None, use_dotenv: bool = True
) -> Settings:
    env = merged_environment(environ, config_dir) if use_dotenv else dict(environ or os.environ)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(setting.name)
        if raw is None or (raw.strip() == "" and setting.default is not None and setting.parse is not str):
            values[setting.name.lower()] = setting.default
            continue
        try:
            values[setting.name.lower()] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.name} is invalid: {exc}. {setting.help}", variable=setting.name) from None
    settings = Settings(**values, env=env, config_dir=config_dir)
    if settings.webhook_url and not settings.webhook_secret:
        raise ConfigError(
            "WEBHOOK_URL is set but WEBHOOK_SECRET is not: events are only sent signed. Set WEBHOOK_SECRET "
            "to a long random string and verify its HMAC-SHA256 signature in the receiver.",
            variable="WEBHOOK_SECRET",
        )
    if settings.ledger_url and settings.ledger_path:
        raise ConfigError(
            "LEDGER_PATH and LEDGER_URL are both set: the ledger lives in one place. Keep LEDGER_URL for "
            "PostgreSQL or LEDGER_PATH for a SQLite file.",
            variable="LEDGER_URL",
        )
    if settings.ledger_url:
        register_secret(settings.ledger_url)
        password = urlsplit(settings.ledger_url).password
        if password:
            register_secret(password)
    for token in settings.rest_tokens + settings.approver_tokens:
        register_secret(token)
    if settings.oauth_signing_key:
        register_secret(settings.oauth_signing_key)
    for secret in (settings.console_secret_key, settings.webhook_secret, settings.klaviyo_mcp_registration_token):
        if secret:
            register_secret(secret)
    register_env_secrets(env)  # the webhook signing secrets a plan may name (secret_env.py)
    return settings

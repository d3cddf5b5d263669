"""The user directory: who may sign in, with which tokens, and with which grants.

Loaded once at start-up from ``KLAVIYO_MCP_USERS_FILE`` (a TOML file safe to commit: it holds password
*hashes* and the *names* of the env vars that hold each user's static bearer tokens, never a
token)::

    [users.alice]
    name = "Alice Example"                # optional
    password_hash = "$argon2id$..."       # optional: for the embedded login page
    tokens_env = ["ALICE_TOKEN"]          # optional: env vars holding her tokens (comma-separated)
    grants = { acme = "approver", globex = "reader" }   # "*" as a key = every account

Without a users file the REST token settings keep their meaning: ``KLAVIYO_MCP_REST_API_KEY`` and
``KLAVIYO_MCP_REST_API_TOKENS`` read and propose on every account, ``KLAVIYO_MCP_APPROVER_TOKENS`` also approve; each
token's user is its fingerprint. With a users file every token must belong to a user, so no
credential keeps powers the file does not show.

Comparisons are constant-time: a token is compared with every known token, and a password check
for an unknown user still runs argon2 against a dummy hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2 import exceptions as argon2_errors

from klaviyo_analytics.auth.principal import ANY_ACCOUNT, Principal, Role
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.klaviyo.redact import register_secret

USER_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
USER_FIELDS = frozenset({"name", "password_hash", "tokens_env", "grants"})
# A static bearer token is the whole credential: shorter ones are guessable.
MIN_TOKEN_LENGTH = 16
# The per-user sign-in counter's key: the OAuth login page and the console's password sign-in both
# count in it (one budget per user). Here, not in auth/login.py, so the REST API need not import the
# OAuth server (and the mcp package) to share it.
LOGIN_USER_KEY = "oauth-login-user"
ROLES = [role.value for role in Role]


def fingerprint(token: str) -> str:
    """A token's name in logs, metrics and the ledger: never the token itself."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:10]


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the user is unknown or has no password, so the answer takes as long.
    return _hasher().hash("no such user: this hash only burns the same time as a real check")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@dataclass(frozen=True)
class User:
    user_id: str
    grants: Mapping[str, Role]
    name: str | None = None
    password_hash: str | None = field(default=None, repr=False)
    tokens_env: tuple[str, ...] = ()

    @property
    def principal(self) -> Principal:
        return Principal(self.user_id, self.grants)


@dataclass(frozen=True)
class UserDirectory:
    """Users by id, and every static token with the principal it stands for."""

    users: Mapping[str, User]
    # (token, principal) pairs; a tuple so lookups walk every entry, matched or not.
    tokens: tuple[tuple[str, Principal], ...] = field(default=(), repr=False)
    source: Path | None = None

    @property
    def from_file(self) -> bool:
        return self.source is not None

    @property
    def has_credentials(self) -> bool:
        return bool(self.tokens) or any(user.password_hash for user in self.users.values())

    def principal_for_user(self, user_id: str) -> Principal | None:
        user = self.users.get(user_id)
        return user.principal if user is not None else None

    def principal_for_token(self, token: str) -> Principal | None:
        found: Principal | None = None
        presented = token.encode()
        for candidate, principal in self.tokens:
            # No early exit: timing reveals neither which token matched nor how many exist.
            if hmac.compare_digest(presented, candidate.encode()) and found is None:
                found = principal
        return found

    def verify_password(self, user_id: str, password: str) -> bool:
        user = self.users.get(user_id)
        stored = user.password_hash if user is not None else None
        try:
            _hasher().verify(stored or _dummy_hash(), password)
        except (argon2_errors.VerificationError, argon2_errors.InvalidHashError):
            return False
        return stored is not None

    def health(self) -> dict[str, Any]:
        """For ``/health`` (public): counts only, never a name or a token."""
        return {
            "status": "ok",
            "source": "users file" if self.from_file else "token settings",
            "users": len(self.users),
            "tokens": len(self.tokens),
        }


def load_directory(settings: Settings, accounts: Collection[str]) -> UserDirectory:
    """The directory for this process: ``KLAVIYO_MCP_USERS_FILE`` if set, else the REST token settings."""
    if settings.users_file is None:
        return _from_token_settings(settings)
    return _from_file(settings.users_file, settings, accounts)


def _from_token_settings(settings: Settings) -> UserDirectory:
    approvers = set(settings.approver_tokens)
    pairs: list[tuple[str, Principal]] = []
    for token in dict.fromkeys(settings.rest_tokens + settings.approver_tokens):
        role = Role.APPROVER if token in approvers else Role.PROPOSER
        pairs.append((token, Principal(fingerprint(token), {ANY_ACCOUNT: role})))
    return UserDirectory(users={}, tokens=tuple(pairs))


class _FileErrors:
    """CONFIG_ERROR messages that name the file, the user and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, message: str, user: str | None = None, field_name: str | None = None) -> ConfigError:
        where = f"{self.path}"
        if user is not None:
            where += f": users.{user}"
            if field_name is not None:
                where += f".{field_name}"
        return ConfigError(
            f"KLAVIYO_MCP_USERS_FILE {where}: {message}",
            variable="KLAVIYO_MCP_USERS_FILE",
            file=str(self.path),
            user=user,
            field=field_name,
        )


def _from_file(path: Path, settings: Settings, accounts: Collection[str]) -> UserDirectory:
    error = _FileErrors(path)
    if not path.is_file():
        raise error("the file does not exist")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"not valid TOML ({exc})") from None
    except OSError as exc:
        raise error(f"cannot be read ({exc.strerror})") from None
    if set(document) - {"users"}:
        raise error(f"unknown top-level key(s) {sorted(set(document) - {'users'})}; only [users.<id>] tables")
    raw_users = document.get("users", {})
    if not isinstance(raw_users, dict) or not raw_users:
        raise error("defines no user; add a [users.<id>] table")
    users: dict[str, User] = {}
    pairs: list[tuple[str, Principal]] = []
    owner: dict[str, str] = {}
    for user_id, raw in raw_users.items():
        user = _parse_user(user_id, raw, settings.env, accounts, error)
        users[user_id] = user
        for env_name in user.tokens_env:
            for token in _tokens_in(settings.env, env_name, user_id, error):
                if token in owner:
                    raise error(
                        f"{env_name} holds a token already given to user {owner[token]!r}", user_id, "tokens_env"
                    )
                owner[token] = user_id
                register_secret(token)
                pairs.append((token, user.principal))
        register_secret(user.password_hash)
    unclaimed = [t for t in settings.rest_tokens + settings.approver_tokens if t not in owner]
    if unclaimed:
        raise error(
            "KLAVIYO_MCP_REST_API_KEY, KLAVIYO_MCP_REST_API_TOKENS or KLAVIYO_MCP_APPROVER_TOKENS holds a token "
            "no user claims; with a users file, "
            "name that variable in a user's tokens_env (so the file says its grants) or unset it"
        )
    return UserDirectory(users=users, tokens=tuple(pairs), source=path)


def _parse_user(user_id: str, raw: Any, env: Mapping[str, str], accounts: Collection[str], error: _FileErrors) -> User:
    if not USER_ID_PATTERN.fullmatch(user_id):
        raise error("a user id is 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit", user_id)
    if not isinstance(raw, dict):
        raise error("must be a table", user_id)
    unknown = sorted(set(raw) - USER_FIELDS)
    if unknown:
        raise error(f"unknown field(s) {unknown}; allowed: {sorted(USER_FIELDS)}", user_id, unknown[0])
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise error("must be text", user_id, "name")
    password_hash = raw.get("password_hash")
    if password_hash is not None:
        if not isinstance(password_hash, str) or not password_hash.startswith("$argon2"):
            raise error(
                "must be an argon2 hash: run `python -m klaviyo_analytics users hash-password`",
                user_id,
                "password_hash",
            )
        try:
            _hasher().check_needs_rehash(password_hash)
        except (argon2_errors.InvalidHashError, ValueError):
            raise error("is not a well-formed argon2 hash", user_id, "password_hash") from None
    tokens_env = raw.get("tokens_env", [])
    if not isinstance(tokens_env, list) or not all(
        isinstance(n, str) and ENV_NAME_PATTERN.fullmatch(n) for n in tokens_env
    ):
        raise error("must be a list of environment variable names", user_id, "tokens_env")
    return User(
        user_id=user_id,
        grants=_parse_grants(user_id, raw.get("grants", {}), accounts, error),
        name=name,
        password_hash=password_hash,
        tokens_env=tuple(tokens_env),
    )


def _parse_grants(user_id: str, raw: Any, accounts: Collection[str], error: _FileErrors) -> dict[str, Role]:
    if not isinstance(raw, dict):
        raise error('must be a table such as { acme = "reader" }', user_id, "grants")
    grants: dict[str, Role] = {}
    for account, role in raw.items():
        if account != ANY_ACCOUNT and account not in accounts:
            known = ", ".join(sorted(accounts)) or "(none configured)"
            raise error(f"unknown account {account!r}; accounts.toml defines: {known}, or use '*'", user_id, "grants")
        if role not in ROLES:
            raise error(f"unknown role {role!r} for {account!r}; allowed: {', '.join(ROLES)}", user_id, "grants")
        grants[account] = Role(role)
    return grants


def _tokens_in(env: Mapping[str, str], env_name: str, user_id: str, error: _FileErrors) -> list[str]:
    value = env.get(env_name)
    if value is None or not value.strip():
        raise error(f"environment variable {env_name} is not set", user_id, "tokens_env")
    tokens = [t.strip() for t in value.split(",") if t.strip()]
    if any(len(t) < MIN_TOKEN_LENGTH for t in tokens):
        raise error(f"{env_name} holds a token shorter than {MIN_TOKEN_LENGTH} characters", user_id, "tokens_env")
    return tokens

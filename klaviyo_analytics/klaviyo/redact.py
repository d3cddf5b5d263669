"""Secret redaction.

Every API key and REST token the process loads is registered here, and every log line,
error message and ledger trace passes through :func:`redact` before it leaves the process.
Registering is cheap and global on purpose: a secret must be scrubbed wherever it appears,
not only where someone remembered to scrub it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"
# Header and field names whose values are secret whatever they hold.
SECRET_FIELD_NAMES = frozenset({"authorization", "x-api-key", "api_key", "apikey", "token", "secret"})
# Shorter strings would redact ordinary words; no real key or token is this short.
_MIN_SECRET_LENGTH = 8
# The only environment variables a plan may name for a secret (a webhook's signing secret). Their
# values are registered at start-up, so every process scrubs them, not only the one that sent them.
SECRET_ENV_PREFIX = "KLAVIYO_WEBHOOK_SECRET"  # noqa: S105 - a variable-name prefix, not a secret

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def register_env_secrets(environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if name.startswith(SECRET_ENV_PREFIX):
            register_secret(value)


def holds_secret(value: Any) -> bool:
    """Whether a JSON-like value contains any registered secret (the response cache asks this)."""
    secrets = _snapshot()
    if not secrets:
        return False
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return True  # cannot tell: treat as holding one
    # JSON escapes a quote or backslash inside a secret: look for that spelling too.
    return any(s in text or json.dumps(s, ensure_ascii=False)[1:-1] in text for s in secrets)


def redact(value: Any) -> Any:
    """Return ``value`` with every registered secret replaced, recursing into containers."""
    if isinstance(value, str):
        for secret in _snapshot():
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {k: (REDACTED if str(k).lower() in SECRET_FIELD_NAMES else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value


def _snapshot() -> tuple[str, ...]:
    with _lock:
        # Longest first, so a secret that contains another is replaced whole.
        return tuple(sorted(_secrets, key=len, reverse=True))

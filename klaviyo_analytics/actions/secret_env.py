"""Secrets a plan needs but must never hold: a plan names the environment variable, the request carries the value.

A webhook's signing secret (``secret_key``) goes to Klaviyo in the create request and nowhere
else. The stored plan (hashed, shown to the approver, listed by klaviyo_get_action) holds
``{"$secret_env": "<NAME>"}``; :func:`fill` swaps in the value only for the outgoing body, after
registering it with redact.py, so the client's call record, the trace, logs and errors carry
``[REDACTED]``. Only variables named with the prefix the schema allows can be named at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from klaviyo_analytics.errors import ConflictError, InvalidArgumentError
from klaviyo_analytics.klaviyo.redact import register_secret

KEY = "$secret_env"
MIN_LENGTH = 16  # shorter is a weak HMAC key, and too short for redact.py to scrub safely


def ref(name: str) -> dict[str, str]:
    return {KEY: name}


def value_of(name: str, *, field: str | None = None) -> str:
    """The variable's value, registered for redaction; a clear error (never the value) if unusable."""
    value = os.environ.get(name) or ""
    if not value:
        message = f"the environment variable {name} (the webhook signing secret) is not set in this server's process"
        if field:
            raise InvalidArgumentError(
                f"{message}; set it where the server runs, then propose again.", field=field, rule="secret_env"
            )
        raise ConflictError(f"{message}; nothing was sent — set it and execute again (the action stays approved).")
    if len(value) < MIN_LENGTH:
        raise InvalidArgumentError(
            f"the value of {name} is shorter than {MIN_LENGTH} characters; use a long random secret.",
            field=field,
            rule="secret_env",
        )
    register_secret(value)
    return value


def names(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        if set(value) == {KEY}:
            return [str(value[KEY])]
        return [n for v in value.values() for n in names(v)]
    if isinstance(value, list):
        return [n for v in value for n in names(v)]
    return []


def fill(value: Any) -> Any:
    if isinstance(value, Mapping):
        if set(value) == {KEY}:
            return value_of(str(value[KEY]))
        return {k: fill(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v) for v in value]
    return value

"""Klaviyo webhooks: the read tool's answer and the propose tools' inputs. No field ever holds a secret."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from klaviyo_analytics.redact import SECRET_ENV_PREFIX
from klaviyo_analytics.schemas.common import AccountParams, KlaviyoId, OutputModel, full_pattern, matching
from klaviyo_analytics.untrusted import UntrustedText

# The signing secret is named, never given: only variables with this prefix can be named, so a
# proposal cannot point Klaviyo at another of the process's secrets (an API key, a token).
_SECRET_ENV = rf"{SECRET_ENV_PREFIX}[A-Z0-9_]{{0,40}}"
SecretEnv = Annotated[
    str,
    matching(_SECRET_ENV, f"an environment variable name starting {SECRET_ENV_PREFIX} (A-Z, 0-9, _)"),
    full_pattern(_SECRET_ENV),
]
_TOPIC = r"[a-z]+:[a-z0-9_.]{1,100}"
Topic = Annotated[str, matching(_TOPIC, "a webhook topic id such as event:klaviyo.sent_sms"), full_pattern(_TOPIC)]


class WebhooksParams(AccountParams):
    pass


class WebhookRow(OutputModel):
    webhook_id: str
    name: UntrustedText | None
    description: UntrustedText | None
    endpoint_url: str | None  # as Klaviyo answers it: truncated to scheme and host
    enabled: bool | None
    topics: list[str]
    created_at: str | None


class WebhooksResult(OutputModel):
    topics: list[str]
    webhooks: list[WebhookRow]


class CreateWebhookParams(AccountParams):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    endpoint_url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    topics: list[Topic] = Field(min_length=1)  # checked against the account's topic list
    secret_env: SecretEnv  # holds the signing secret; its value is read only when the request is sent
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class DeleteWebhookParams(AccountParams):
    webhook_id: KlaviyoId

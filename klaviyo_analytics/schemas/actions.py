"""Approval-gated actions: the propose tools' inputs, and the one view every action tool returns.

Every propose tool answers with the same ``ActionView`` (and execute and get_action too): one
shape to learn, and one output schema's worth of bytes in tools/list.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints

from klaviyo_analytics.klaviyo.redact import SECRET_ENV_PREFIX
from klaviyo_analytics.rules.untrusted import UntrustedSummary, UntrustedText
from klaviyo_analytics.schemas.common import (
    CONTRACT_KEY,
    AccountParams,
    KlaviyoId,
    OutputModel,
    StrictModel,
    contract,
    full_pattern,
    matching,
    one_of,
)

# Only example.com (RFC 2606, reserved for examples): seeded profiles can never reach a real inbox.
DEMO_DOMAIN = "example.com"
MAX_DEMO_PROFILES = 100
MAX_PROFILES_PER_PROPOSAL = 1000
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not a valid email address")
    return value


# What _demo_domain accepts, spelled for the REST contract: any case, surrounding spaces.
_DEMO_DOMAIN_PATTERN = (
    r"^\s*" + "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in DEMO_DOMAIN) + r"\s*$"
)


def _demo_domain(value: str) -> str:
    if value.strip().lower() != DEMO_DOMAIN:
        raise ValueError(f"demo profiles use {DEMO_DOMAIN} only, so they can never reach a real inbox")
    return DEMO_DOMAIN


Email = Annotated[str, AfterValidator(_email), contract(pattern=_EMAIL.pattern, maxLength=254)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
ACTION_ID_PATTERN = r"^act_[A-Za-z0-9_-]{1,64}$"
ActionId = Annotated[str, StringConstraints(pattern=ACTION_ID_PATTERN)]
ACTION_STATUSES = ("pending", "approved", "rejected", "expired", "executing", "needs_attention", "succeeded", "failed")


class CreateListParams(AccountParams):
    name: Text
    opt_in_process: one_of(("single_opt_in", "double_opt_in"), "opt_in_process") | None = None  # type: ignore[valid-type]


class SeedDemoProfilesParams(AccountParams):
    count: int = Field(3, ge=1, le=MAX_DEMO_PROFILES)
    list_id: KlaviyoId | None = Field(None, description="Or new_list_name.")
    new_list_name: Text | None = None
    domain: Annotated[str, AfterValidator(_demo_domain), contract(pattern=_DEMO_DOMAIN_PATTERN)] = DEMO_DOMAIN
    spend_90d: float = Field(300.0, ge=0)


class AddProfilesToListParams(AccountParams):
    list_id: KlaviyoId
    emails: list[Email] | None = Field(None, max_length=MAX_PROFILES_PER_PROPOSAL)
    profile_ids: list[KlaviyoId] | None = Field(None, max_length=MAX_PROFILES_PER_PROPOSAL)


class CampaignDraftParams(AccountParams):
    name: Text
    audience_id: KlaviyoId = Field(description="List or segment id.")
    subject: Text
    preview_text: str | None = None
    from_email: Email | None = None  # default: the account's sender
    from_label: Text | None = None
    reply_to_email: Email | None = None
    template_html: Annotated[str, StringConstraints(min_length=1, max_length=100_000)] | None = None


class CloneCampaignParams(AccountParams):
    campaign_id: KlaviyoId
    new_name: Text | None = None  # default: "<source name> (copy)"
    audience_id: KlaviyoId | None = Field(None, description="List or segment id.")
    subject: Text | None = Field(None, description="Email only.")


class SegmentParams(AccountParams):
    recipe: one_of(("vip", "winback"), "recipe")  # type: ignore[valid-type]
    name: Text | None = None
    min_value: float = Field(300.0, gt=0)
    days: int | None = Field(None, ge=1, le=3650)  # default 90 (vip), 180 (winback)
    metric_id: KlaviyoId | None = None  # default: the account's conversion metric


class PauseFlowParams(AccountParams):
    flow_id: KlaviyoId
    # manual or draft; live is refused (FORBIDDEN_ACTION: it would start sending)
    status: str = Field("manual", json_schema_extra={CONTRACT_KEY: {"enum": ["manual", "draft", "live"]}})


FLOW_RECIPES = (
    "welcome_series", "abandoned_checkout", "browse_abandonment", "post_purchase", "winback", "sunset", "custom",
)  # fmt: skip


class FlowParams(AccountParams):
    recipe: one_of(FLOW_RECIPES, "recipe")  # type: ignore[valid-type]
    name: str | None = None  # default: the recipe's title (checked in flow_recipes: a short schema)
    trigger_id: KlaviyoId | None = None  # the list, segment or metric that starts it
    emails: int | None = None  # default: the recipe's number of emails
    delays: list[str] | None = None  # the wait before each email: '0 days', '4 hours', '30 minutes'
    subjects: list[str] | None = None
    from_email: Email | None = None  # default: the account's sender (its name stays the account's)
    smart_sending: bool = True
    send_time: str | None = None  # quiet hours: every wait ends at this HH:MM (the profile's timezone)
    definition: Any = None  # recipe custom: Klaviyo's flow definition (an object, checked in flow_schema)


class DeleteFlowParams(AccountParams):
    flow_id: KlaviyoId


class UpdateFlowParams(AccountParams):
    flow_id: KlaviyoId
    flow_action_id: KlaviyoId  # a Klaviyo flow action: an email (give subject) or a wait (give delay)
    subject: str | None = None
    delay: str | None = None  # e.g. '3 days'


class ActionParams(StrictModel):
    action_id: ActionId


class ListActionsParams(AccountParams):
    status: one_of(ACTION_STATUSES, "status") | None = None  # type: ignore[valid-type]
    limit: int = Field(20, ge=1, le=200)


# The proposal (account and warnings ride in the envelope), its decision and execution. No
# docstring and no field descriptions: they would be repeated in eight output schemas.
class ActionView(OutputModel):
    action_id: str
    status: str
    summary: UntrustedSummary
    plan: list[dict[str, Any]]
    plan_hash: str  # sha256 of this plan as shown: an approval names it (approve what was shown)
    expires_at: str
    # who did what: {"proposed": who} and, once decided, "approved" or "rejected": who. Typed as a
    # plain object: the output schema is repeated in every action tool's entry of tools/list
    by: dict[str, Any]
    approve: str | None  # how a person approves it, while pending
    created: dict[str, Any]  # each executed step's result (ids), by step_id; "_error": the last failure
    history: list[dict[str, Any]]  # who moved it to which status, when
    trace: list[dict[str, Any]]  # every upstream call of the execution


class ActionRow(OutputModel):
    action_id: str
    action: str
    account: str
    status: str
    summary: UntrustedSummary
    proposed_by: str
    created_at: str
    expires_at: str


class ActionList(OutputModel):
    actions: list[ActionRow]


# The signing secret is named, never given: only variables with this prefix (redact.SECRET_ENV_PREFIX)
# can be named, so a proposal cannot point Klaviyo at another of the process's secrets (an API key, a token).
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

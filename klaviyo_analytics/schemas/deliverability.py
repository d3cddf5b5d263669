from __future__ import annotations

from pydantic import Field

from klaviyo_analytics.rules.bands import BandsSource
from klaviyo_analytics.rules.untrusted import UntrustedText
from klaviyo_analytics.schemas.common import KlaviyoId, OutputModel, WindowParams


class DeliverabilityParams(WindowParams):
    campaign: KlaviyoId | None = Field(None, description="Campaign id.")
    flow: KlaviyoId | None = Field(None, description="Flow id.")


class DeliverabilityRow(OutputModel):
    """One slice of email sends: the whole scope, a provider or a domain (None when not that slice)."""

    inbox_provider: str | None
    email_domain: UntrustedText | None  # recipients choose their domains: account text
    sent: int
    delivered: int
    bounces: int
    spam_complaints: int
    unsubscribes: int
    bounce_rate: float | None
    spam_complaint_rate: float | None
    unsubscribe_rate: float | None
    # rate -> band (rules/bands.py), from MIN_BAND_DELIVERIES deliveries
    health: dict[str, str]


class BounceTypeRow(OutputModel):
    bounce_type: str
    bounces: int
    share: float | None


class SendBehind(OutputModel):
    """A send (campaign or flow message) behind a worst figure, at that provider."""

    message_id: str
    message_name: UntrustedText | None
    flow_id: str | None  # None: a campaign message
    sent: int
    count: int  # its bounces, complaints or unsubscribes at the provider
    rate: float | None
    share_of_provider: float | None  # its part of the provider's count


class WorstFigure(OutputModel):
    rate: str  # bounce_rate | spam_complaint_rate | unsubscribe_rate
    inbox_provider: str
    value: float | None
    band: str | None
    scope_value: float | None  # the same rate over the whole scope, for comparison
    sends: list[SendBehind]


class DeliverabilityResult(OutputModel):
    totals: DeliverabilityRow  # the account's, the campaign's or the flow's email sends
    providers: list[DeliverabilityRow]
    domains: list[DeliverabilityRow]
    bounce_types: list[BounceTypeRow]
    worst: list[WorstFigure]
    cannot_know: list[str]
    health_bands: BandsSource

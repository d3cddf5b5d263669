"""The objects one sandbox account holds. Plain mutable records; serializers live in resources.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from klaviyo_sandbox.config import AccountSeed
from klaviyo_sandbox.ids import IdFactory
from klaviyo_sandbox.series import EventIndex


@dataclass
class Metric:
    id: str
    name: str
    integration: dict[str, Any]
    created: datetime
    updated: datetime


@dataclass
class ListRec:
    id: str
    name: str
    opt_in_process: str
    created: datetime
    updated: datetime
    initial_count: int  # members before the seeded events begin (anonymous, not profiles)
    members: set[str] = field(default_factory=set)  # profile ids
    subscribed_metric_dim: str = ""  # the ``List`` dimension of its Subscribed/Unsubscribed events


@dataclass
class SegmentRec:
    id: str
    name: str
    definition: dict[str, Any]
    created: datetime
    updated: datetime
    is_active: bool
    is_processing: bool
    is_starred: bool
    initial_count: int


@dataclass
class Profile:
    id: str
    attributes: dict[str, Any]
    created: datetime
    updated: datetime
    # Marketing consent set through the subscription jobs, per channel ("email", "sms"):
    # {"consent": "SUBSCRIBED" | "UNSUBSCRIBED", "at": datetime, "source": str | None}
    consent: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Template:
    id: str
    name: str
    editor_type: str
    html: str | None
    text: str | None
    amp: str | None
    definition: dict[str, Any] | None
    created: datetime
    updated: datetime


@dataclass
class CampaignMessage:
    id: str
    campaign_id: str
    definition: dict[str, Any]  # {"channel", "label"?, "content", "render_options"?}
    send_times: list[dict[str, Any]]
    template_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def channel(self) -> str:
        return str(self.definition["channel"])

    @property
    def label(self) -> str:
        return str(self.definition.get("label") or "")


@dataclass
class Campaign:
    id: str
    name: str
    status: str
    archived: bool
    audiences: dict[str, Any]
    send_options: dict[str, Any]
    tracking_options: dict[str, Any] | None
    send_strategy: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    scheduled_at: datetime | None
    send_time: datetime | None
    message_ids: list[str]
    channel: str
    # Revision 2026-10-15's campaign definition adds fields the older shape has no place for
    # (builder, color, description, exit conditions): kept here, shown only at that revision.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FlowMessage:
    id: str
    action_id: str
    flow_id: str
    channel: str
    definition: dict[str, Any]  # FlowEmail / FlowSms
    created: datetime
    updated: datetime

    @property
    def name(self) -> str:
        return str(self.definition.get("name") or "")


@dataclass
class FlowAction:
    id: str
    flow_id: str
    definition: dict[str, Any]  # {"id", "type", "links", "data"}
    created: datetime
    updated: datetime
    message_ids: list[str]

    @property
    def action_type(self) -> str:
        return str(self.definition["type"])

    @property
    def status(self) -> str | None:
        data = self.definition.get("data") or {}
        status = data.get("status")
        return str(status) if status is not None else None


@dataclass
class Flow:
    id: str
    name: str
    status: str
    archived: bool
    trigger_type: str
    trigger: dict[str, Any]
    created: datetime
    updated: datetime
    action_ids: list[str]


@dataclass
class Webhook:
    id: str
    name: str
    description: str | None
    endpoint_url: str
    secret_key: str  # kept for signing, as Klaviyo does; never in an answer
    topics: list[str]
    created: datetime
    updated: datetime
    enabled: bool = True


@dataclass
class FormVersion:
    id: str
    form_id: str
    form_type: str  # banner | embed | flyout | full_page | popup
    variation_name: str
    status: str  # draft | live
    ab_test: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


@dataclass
class Form:
    id: str
    name: str
    status: str  # draft | live
    ab_test: bool
    created_at: datetime
    updated_at: datetime
    version_ids: list[str]
    list_name: str  # the list its submits subscribe to (``List`` on Subscribed to List events)


@dataclass
class Tag:
    id: str
    name: str
    group_id: str
    # What the tag is on, per kind ("campaign", "flow", "list", "segment"): ids in order.
    on: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class EventRec:
    """One event as GET /api/events lists it (a sample of the activity; reports read the index)."""

    id: str
    metric_id: str
    profile_id: str
    at: datetime
    properties: dict[str, Any]
    uuid: str


@dataclass
class CatalogItem:
    id: str
    external_id: str
    title: str
    description: str
    price: float
    url: str
    image_url: str
    published: bool
    category_id: str
    created: datetime
    updated: datetime
    variant_ids: list[str]


@dataclass
class Image:
    id: str
    name: str
    image_url: str
    format: str
    size: int
    hidden: bool
    updated_at: datetime


@dataclass
class Account:
    seed: AccountSeed
    id: str
    created: datetime
    ids: IdFactory  # continues issuing ids for objects created through the API
    metrics: dict[str, Metric] = field(default_factory=dict)
    lists: dict[str, ListRec] = field(default_factory=dict)
    segments: dict[str, SegmentRec] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    messages: dict[str, CampaignMessage] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    actions: dict[str, FlowAction] = field(default_factory=dict)
    flow_messages: dict[str, FlowMessage] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)
    form_versions: dict[str, FormVersion] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    event_log: list[EventRec] = field(default_factory=list)
    catalog_items: dict[str, CatalogItem] = field(default_factory=dict)
    images: dict[str, Image] = field(default_factory=dict)
    events: EventIndex = field(default_factory=EventIndex)
    _metric_ids: dict[str, str] = field(default_factory=dict, repr=False)

    def metric_id(self, name: str) -> str:
        """The id of the metric called ``name`` (metrics are only ever seeded, so the map is built once)."""
        if len(self._metric_ids) != len(self.metrics):
            self._metric_ids = {m.name: m.id for m in self.metrics.values()}
        return self._metric_ids[name]

"""One campaign or flow message, found before any report: its id, channel, window and aggregates.

``resolve`` reads the campaign (with its messages) or the flow message once — a wrong id is
``NOT_FOUND`` naming the field, before any report or aggregate call — and the lookup is cached
for an hour like the other existence checks. ``totals`` sums metric aggregates filtered to the
message over the window, chunked by year (the API's limit on one request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from klaviyo_analytics.errors import InvalidArgumentError, NotFoundError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.timeframes import Period, chunk
from klaviyo_analytics.schemas.engagement import MessageParams, MessageRef
from klaviyo_analytics.service.core import CallContext, KlaviyoService
from klaviyo_analytics.service.entities import EXISTS_TTL_SECONDS
from klaviyo_analytics.service.freshness import account_timezone
from klaviyo_analytics.service.metrics import aggregate, find_metrics

# A campaign's default window: its send day and the 14 after (opens, clicks and orders trail a
# send by days; two weeks hold nearly all of them). A flow message's: the last 30 days.
CAMPAIGN_DAYS = 15
FLOW_DAYS = 30


@dataclass(frozen=True)
class Message:
    ref: MessageRef
    sent_on: date | None  # a campaign's send date in the account's timezone


def resolve(svc: KlaviyoService, account: Account, params: MessageParams, ctx: CallContext) -> Message:
    if (params.campaign is None) == (params.flow_message is None):
        raise InvalidArgumentError("give exactly one of campaign or flow_message", field="campaign", rule="one_target")
    if params.campaign is not None:
        return _campaign(svc, account, params.campaign, ctx)
    assert params.flow_message is not None
    return _flow_message(svc, account, params.flow_message, ctx)


def _get(
    svc: KlaviyoService, account: Account, path: str, query: dict[str, str], ctx: CallContext, missing: NotFoundError
) -> Any:
    """The document at ``path`` (cached like every existence check), or ``missing`` on a 404."""
    try:
        return svc.client.get(account, path, query, deadline=ctx.deadline, cache_ttl=EXISTS_TTL_SECONDS)
    except NotFoundError:
        raise missing from None


def _campaign(svc: KlaviyoService, account: Account, campaign_id: str, ctx: CallContext) -> Message:
    doc = _get(
        svc, account, f"/api/campaigns/{campaign_id}",
        {"fields[campaign]": "name,send_time,status", "include": "campaign-messages",
         "fields[campaign-message]": "definition"},
        ctx, NotFoundError(f"no campaign with id {campaign_id!r} in account {account.slug!r}; list them with "
                           "klaviyo_get_campaigns", field="campaign", id=campaign_id),
    )  # fmt: skip
    data = doc.get("data") or {}
    attributes = data.get("attributes") or {}
    included = {str(i.get("id")): i for i in doc.get("included") or [] if i.get("type") == "campaign-message"}
    linked = ((data.get("relationships") or {}).get("campaign-messages") or {}).get("data") or []
    ids = [str(item.get("id")) for item in linked] or list(included)
    if not ids:
        raise NotFoundError(f"campaign {campaign_id!r} has no message", field="campaign", id=campaign_id)
    definition = ((included.get(ids[0]) or {}).get("attributes") or {}).get("definition") or {}
    sent = _local_date(attributes.get("send_time"), svc, account, ctx)
    ref = MessageRef(
        message_id=ids[0], channel=str(definition.get("channel") or "email"), campaign_id=campaign_id,
        flow_id=None, name=attributes.get("name"),
    )  # fmt: skip
    return Message(ref, sent)


def _flow_message(svc: KlaviyoService, account: Account, message_id: str, ctx: CallContext) -> Message:
    doc = _get(
        svc, account, f"/api/flow-messages/{message_id}", {"include": "flow-action"}, ctx,
        NotFoundError(f"no flow message with id {message_id!r} in account {account.slug!r}; "
                      "klaviyo_get_flow_structure lists a flow's messages", field="flow_message", id=message_id),
    )  # fmt: skip
    attributes = (doc.get("data") or {}).get("attributes") or {}
    flow_id = None
    for item in doc.get("included") or []:
        related = ((item.get("relationships") or {}).get("flow") or {}).get("data") or {}
        flow_id = flow_id or (str(related["id"]) if related.get("id") else None)
    name = (attributes.get("definition") or {}).get("name") or attributes.get("name")
    channel = str(attributes.get("channel") or "email")
    return Message(
        MessageRef(message_id=message_id, channel=channel, campaign_id=None, flow_id=flow_id, name=name), None
    )


def _local_date(raw: Any, svc: KlaviyoService, account: Account, ctx: CallContext) -> date | None:
    """A send time's date where the account reads its report windows."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        zone = ZoneInfo(account_timezone(svc, account, ctx))
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return moment.astimezone(zone).date()


def window(svc: KlaviyoService, account: Account, params: MessageParams, message: Message) -> Period:
    """A campaign's send day and the ``days - 1`` after it (never past today); otherwise (a flow
    message, an unsent campaign) the last ``days`` days, ending yesterday."""
    today = svc.today(account)
    if message.sent_on is not None and message.sent_on <= today:
        days = params.days or CAMPAIGN_DAYS
        return Period(message.sent_on, min(today, message.sent_on + timedelta(days=days - 1)))
    yesterday = today - timedelta(days=1)
    return Period(yesterday - timedelta(days=(params.days or FLOW_DAYS) - 1), yesterday)


def metric_ids(svc: KlaviyoService, account: Account, names: list[str], ctx: CallContext) -> dict[str, str]:
    """Ids of the named metrics the account has (one cached metrics list); absent names are left out."""
    return {name: metric.id for name, metric in find_metrics(svc, account, names, ctx).items()}


def totals(
    svc: KlaviyoService,
    account: Account,
    metric_id: str | None,
    period: Period,
    ctx: CallContext,
    *,
    by: list[str],
    filters: list[str],
    measurements: list[str],
) -> dict[tuple[str, ...], dict[str, float]]:
    """Each ``by`` combination's summed measurements over ``period`` (one call per year of it)."""
    out: dict[tuple[str, ...], dict[str, float]] = {}
    if metric_id is None:
        return out  # the account has never had the metric: nothing happened
    for part in chunk(period):
        result = aggregate(
            svc, account, metric_id, part, ctx, measurements=measurements, interval="month", by=by, filters=filters
        )
        for dims, values in result.rows:
            key = tuple([*dims, *[""] * len(by)][: len(by)])  # a row without a dimension may list none
            into = out.setdefault(key, dict.fromkeys(measurements, 0.0))
            for name in measurements:
                into[name] += sum(values.get(name) or [])
    return out

"""Klaviyo's official Python SDK (klaviyo-api 24.0.0, the release that pins revision 2026-07-15)
against the sandbox on loopback: every read operation the product uses and every write its plans
contain. The SDK builds its own requests and deserialises every answer into its pydantic models,
so a shape the sandbox gets wrong, or a request body the SDK's models refuse, fails here.

The write bodies are the product's own (recipes.py), as a plan stores them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from klaviyo_api import KlaviyoAPI

from klaviyo_analytics.actions import flow_guard, recipes
from klaviyo_analytics.actions.propose_webhooks import create_body
from klaviyo_analytics.klaviyo.revisions import BUILT_FOR
from klaviyo_sandbox import Sandbox, SandboxConfig, serve

from .conftest import ANCHOR


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=1e-6))  # no rate limit gets in the way


@pytest.fixture(scope="module")
def sdk(sandbox: Sandbox) -> Iterator[KlaviyoAPI]:
    with serve(sandbox, host="127.0.0.1", port=0) as base:
        yield KlaviyoAPI(sandbox.accounts[0].api_key, max_delay=1, max_retries=0, test_host=base)


def _data(answer: Any) -> Any:
    assert answer is not None and type(answer).__module__.startswith("openapi_client.models"), type(answer)
    return answer.data


def test_the_sdk_release_is_the_one_for_our_revision() -> None:
    assert KlaviyoAPI._REVISION == BUILT_FOR


@pytest.mark.slow
def test_every_read_the_product_makes(sandbox: Sandbox, sdk: KlaviyoAPI) -> None:
    acme = sandbox.store.accounts["acme"]
    conv = sandbox.accounts[0].conversion_metric_id
    campaign = next(c for c in acme.campaigns.values() if c.status == "Sent" and c.channel == "email")
    flow = next(f for f in acme.flows.values() if f.status == "live")
    action = next(acme.actions[a] for a in flow.action_ids if acme.actions[a].message_ids)
    tf = {"key": "last_30_days"}
    reads = [
        sdk.Accounts.get_accounts(),
        sdk.Metrics.get_metrics(),
        sdk.Metrics.get_metric(conv),
        sdk.Metrics.query_metric_aggregates({"data": {"type": "metric-aggregate", "attributes": {
            "metric_id": conv, "measurements": ["count", "sum_value", "unique"], "interval": "month",
            "filter": ["greater-or-equal(datetime,2025-06-01T00:00:00)", "less-than(datetime,2026-01-01T00:00:00)"],
            "by": ["$attributed_message"], "timezone": "America/New_York"}}}),
        sdk.Reporting.query_campaign_values({"data": {"type": "campaign-values-report", "attributes": {
            "statistics": ["recipients", "open_rate", "conversion_value"], "timeframe": tf,
            "conversion_metric_id": conv}}}),
        sdk.Reporting.query_flow_values({"data": {"type": "flow-values-report", "attributes": {
            "statistics": ["recipients", "click_rate"], "timeframe": tf, "conversion_metric_id": conv}}}),
        sdk.Reporting.query_flow_series({"data": {"type": "flow-series-report", "attributes": {
            "statistics": ["opens"], "timeframe": tf, "interval": "weekly", "conversion_metric_id": conv}}}),
        sdk.Reporting.query_segment_values({"data": {"type": "segment-values-report", "attributes": {
            "statistics": ["total_members", "net_members_changed"], "timeframe": tf}}}),
        sdk.Reporting.query_segment_series({"data": {"type": "segment-series-report", "attributes": {
            "statistics": ["total_members"], "timeframe": tf, "interval": "weekly"}}}),
        sdk.Campaigns.get_campaigns(filter="equals(messages.channel,'email')"),
        sdk.Campaigns.get_campaigns(filter=f"any(id,['{campaign.id}']),equals(messages.channel,'email')"),
        sdk.Campaigns.get_campaign(campaign.id),
        sdk.Campaigns.get_messages_for_campaign(campaign.id),
        sdk.Campaigns.get_campaign_message(campaign.message_ids[0]),
        sdk.Flows.get_flows(),
        sdk.Flows.get_flow(flow.id, additional_fields_flow=["definition"]),
        sdk.Flows.get_actions_for_flow(flow.id),
        sdk.Flows.get_flow_action_messages(action.id),
        sdk.Flows.get_flow_message(action.message_ids[0]),
        sdk.Lists.get_lists(),
        sdk.Lists.get_list("OxAUqq", additional_fields_list=["profile_count"]),
        sdk.Lists.get_flows_triggered_by_list("OxAUqq"),
        sdk.Profiles.get_profiles(filter='any(email,["ava.nguyen0@example.com"])', additional_fields_profile=[
            "subscriptions"]),
        sdk.Segments.get_segments(),
        sdk.Segments.get_segment(next(iter(acme.segments)), additional_fields_segment=["profile_count"]),
        sdk.Templates.get_templates(),
        sdk.Templates.get_template(next(iter(acme.templates))),
    ]  # fmt: skip
    assert all(_data(answer) is not None for answer in reads)
    assert [f.id for f in _data(reads[21])] == [next(f.id for f in acme.flows.values() if f.name == "Welcome Series")]


def test_every_write_the_plans_contain(sandbox: Sandbox, sdk: KlaviyoAPI) -> None:
    created_list = _data(sdk.Lists.create_list(recipes.create_list("SDK list", None, [])["body"]))
    imported = _data(sdk.Profiles.create_or_update_profile(
        recipes.seed_profiles(["sdk.demo@example.com"], 300.0)[0]["body"]))  # fmt: skip
    guard = flow_guard.propose_guard(None, created_list.id)
    add = recipes.add_members(created_list.id, "the SDK list", [imported.id], guard)[0]
    assert sdk.Lists.add_profiles_to_list(created_list.id, add["body"]) is None  # 204
    assert imported.id in sandbox.store.accounts["acme"].lists[created_list.id].members

    steps = {s["step_id"]: s for s in recipes.campaign_draft(
        "SDK draft", created_list.id, {"subject": "Hi", "from_email": "hello@acme.example", "from_label": "Acme"},
        "<html><body>Hi</body></html>", {})}  # fmt: skip
    template = _data(sdk.Templates.create_template(steps["create_template"]["body"]))
    campaign = _data(sdk.Campaigns.create_campaign(steps["create_campaign"]["body"]))
    message_id = campaign.relationships.campaign_messages.data[0].id
    assign = steps["assign_template"]["body"]
    assign["data"]["id"] = message_id
    assign["data"]["relationships"]["template"]["data"]["id"] = template.id
    assert _data(sdk.Campaigns.assign_template_to_campaign_message(assign)).id == message_id

    definition = recipes.segment_definition("vip", sandbox.accounts[0].conversion_metric_id, 300.0, 90)
    assert _data(sdk.Segments.create_segment(recipes.create_segment("SDK VIP", definition, [])["body"])).id
    flow = next(f for f in sandbox.store.accounts["acme"].flows.values() if f.status == "live")
    paused = _data(sdk.Flows.update_flow(flow.id, recipes.set_flow_status(flow.id, flow.name, "manual")["body"]))
    assert paused.attributes.status == "manual"
    state = sandbox.state()["accounts"]["acme"]
    assert [c["name"] for c in state["campaigns"]] == ["SDK draft"]
    assert [x["name"] for x in state["lists"]] == ["SDK list"] and [x["name"] for x in state["segments"]] == ["SDK VIP"]


def test_bulk_subscribe_through_the_sdk(sandbox: Sandbox, sdk: KlaviyoAPI) -> None:
    body = {"data": {"type": "profile-subscription-bulk-create-job", "attributes": {"profiles": {"data": [
        {"type": "profile", "attributes": {"email": "sdk.sub@example.com", "phone_number": "+15005550006",
                                           "subscriptions": {"email": {"marketing": {"consent": "SUBSCRIBED"}}}}}]}},
        "relationships": {"list": {"data": {"type": "list", "id": "YEiTqa"}}}}}  # fmt: skip
    assert sdk.Profiles.bulk_subscribe_profiles(body) is None  # 202, no body
    found = _data(sdk.Profiles.get_profiles(filter='equals(email,"sdk.sub@example.com")',
                                            additional_fields_profile=["subscriptions"]))  # fmt: skip
    assert found[0].attributes.subscriptions.email.marketing.consent == "SUBSCRIBED"


def test_webhooks_through_the_sdk(sandbox: Sandbox, sdk: KlaviyoAPI) -> None:
    topics = [t.id for t in _data(sdk.Webhooks.get_webhook_topics())]
    body = create_body("SDK hook", "https://hooks.example.com/sdk", topics[:2], "sdk-signing-secret-0001", "via SDK")
    created = _data(sdk.Webhooks.create_webhook(body))
    assert created.attributes.endpoint_url == "https://hooks.example.com"
    assert [w.id for w in _data(sdk.Webhooks.get_webhooks(include=["webhook-topics"]))] == [created.id]
    assert [t.id for t in _data(sdk.Webhooks.get_webhook(created.id)).relationships.webhook_topics.data] == topics[:2]
    assert sdk.Webhooks.delete_webhook(created.id) is None  # 204
    assert sandbox.store.accounts["acme"].webhooks == {}


def test_forms_and_clones_through_the_sdk(sandbox: Sandbox, sdk: KlaviyoAPI) -> None:
    from klaviyo_analytics.actions.propose_clone import clone_plan
    from klaviyo_analytics.schemas.actions import CloneCampaignParams
    from klaviyo_analytics.service.forms import GROUP_BY, STATISTICS

    acme = sandbox.store.accounts["acme"]
    popup = next(f for f in acme.forms.values() if f.ab_test)
    tf = {"key": "last_30_days"}
    forms = _data(sdk.Forms.get_forms())
    assert {f.id for f in forms} == set(acme.forms)
    assert _data(sdk.Forms.get_form(popup.id)).attributes.ab_test is True
    versions = _data(sdk.Forms.get_form_form_versions(popup.id))
    assert [v.id for v in versions] == popup.version_ids
    assert _data(sdk.Forms.get_form_version(popup.version_ids[0])).attributes.variation_name == "A"
    values = _data(sdk.Reporting.query_form_values({"data": {"type": "form-values-report", "attributes": {
        "statistics": STATISTICS, "timeframe": tf, "group_by": GROUP_BY}}}))  # fmt: skip
    assert {r.groupings["form_version_id"] for r in values.attributes.results} >= set(popup.version_ids)
    series = _data(sdk.Reporting.query_form_series({"data": {"type": "form-series-report", "attributes": {
        "statistics": ["submits"], "timeframe": tf, "interval": "weekly"}}}))  # fmt: skip
    assert series.attributes.date_times

    source = next(c for c in acme.campaigns.values() if c.status == "Sent" and c.channel == "email")
    params = CloneCampaignParams(campaign_id=source.id, new_name="SDK clone")
    clone = _data(
        sdk.Campaigns.create_campaign_clone(clone_plan(params, "SDK clone", "email", [], None, "x")[0]["body"])
    )
    assert clone.attributes.name == "SDK clone" and clone.attributes.status == "Draft"
    template = _data(sdk.Templates.clone_template({"data": {"type": "template", "id": next(iter(acme.templates)),
                                                             "attributes": {"name": "SDK template copy"}}}))  # fmt: skip
    assert template.attributes.name == "SDK template copy"

"""No hidden character reaches any answer, plans included: a caller's names and subjects (kept
exactly in the stored plan, which is what runs) come back without ESC, bidi, zero-width or tag
characters in MCP structured content, MCP text, and every REST JSON answer."""

from __future__ import annotations

from typing import Any

from api import create_app
from tests.actions.action_env import APPROVER_TOKEN, REST_TOKEN, Env
from tests.helpers import shown_plan_hash
from tests.reliability.test_untrusted import clean_everywhere, mcp_calls

HIDDEN = "\x1b[31m\u202eVIP\u2066 list\u200b\U000e0063\r\n\x00"
NAME = f"Hostile {HIDDEN}"
INVISIBLE = {"\x1b", "\u202e", "\u2066", "\u200b", "\U000e0063", "\r", "\x00"}


def test_hostile_names_in_plans_never_reach_an_answer_unclean(env: Env) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("klaviyo_propose_create_list", {"name": NAME}),
        ("klaviyo_propose_campaign_draft", {"name": NAME, "audience_id": "YEiTqa", "subject": HIDDEN,
                                            "template_html": f"<p>{HIDDEN}</p>"}),
        ("klaviyo_propose_seed_demo_profiles", {"count": 1, "new_list_name": NAME}),
        ("klaviyo_propose_create_list", {"name": NAME, "opt_in_process": HIDDEN}),  # an error echoing input
    ]  # fmt: skip
    answers = mcp_calls(env.service, calls)
    action_ids = [structured["data"]["action_id"] for _, structured, is_error in answers if not is_error]
    assert len(action_ids) == 3 and answers[-1][2] is True
    for text, structured, _ in answers:
        clean_everywhere(structured, "MCP structured content")
        assert not INVISIBLE & set(text), text  # the rendering's own line breaks aside
    reads = mcp_calls(env.service, [("klaviyo_get_action", {"action_id": i}) for i in action_ids])
    reads += mcp_calls(env.service, [("klaviyo_list_actions", {})])
    for _text, structured, _ in reads:
        clean_everywhere(structured, "MCP structured content")
    # the stored plan keeps the exact name: it is what Klaviyo receives
    plan = env.ledger.get_proposal(action_ids[0]).plan
    assert plan[0]["body"]["data"]["attributes"]["name"] == NAME

    client = create_app(service=env.service).test_client()
    read = {"Authorization": f"Bearer {REST_TOKEN}"}
    approver = {"Authorization": f"Bearer {APPROVER_TOKEN}"}
    rest = [
        client.post("/v1/actions/propose/create-list", json={"name": NAME}, headers=read),
        client.get(f"/v1/actions/{action_ids[1]}", headers=read),
        client.get("/v1/actions", headers=read),
        client.post(
            f"/v1/actions/{action_ids[1]}/approve",
            json={"reason": HIDDEN, "plan_hash": shown_plan_hash(env.ledger, action_ids[1])},
            headers=approver,
        ),
    ]
    assert [r.status_code for r in rest] == [200, 200, 200, 200], [r.get_data(as_text=True)[:200] for r in rest]
    for response in rest:
        clean_everywhere(response.json, f"REST {response.request.path}")
    assert "Hostile" in rest[1].get_data(as_text=True) and "VIP" in rest[1].get_data(as_text=True)

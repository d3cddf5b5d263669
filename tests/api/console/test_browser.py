"""The console in a real browser: Debian's Chromium driven by Playwright, the REST app served on
loopback with the Klaviyo sandbox behind it, proposals made and executed through MCP.

No browser is downloaded: Playwright launches /usr/bin/chromium. Screenshots, when asked for with
CONSOLE_SCREENSHOTS=<dir>, go there (never into the repository); the tests assert on the page.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from werkzeug.serving import make_server

import server
from api import create_app
from klaviyo_analytics.actions import ProposalStatus
from klaviyo_sandbox import Sandbox
from tests.actions.action_env import APPROVER_TOKEN, Env, settings_for
from tests.api.console.conftest import ANALYST_PASSWORD, users_file
from tests.browser import CHROMIUM, chromium
from tests.server_report import MISSING_SERVER

APPROVE_URL = re.compile(r"https?://\S+/console/actions/act_[A-Za-z0-9_-]+")
HOSTILE = "<script>alert('pwned')</script>"
BIDI_SUBJECT = "Sale \u202egnp.exe 50% off"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{MISSING_SERVER}needs Debian's chromium at /usr/bin/chromium (apt install chromium)",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api")


class Console:
    """The product on the sandbox, its REST app served for real, and an in-process MCP client."""

    def __init__(self, env: Env, base_url: str) -> None:
        self.env, self.base_url = env, base_url
        self._pool = ThreadPoolExecutor(1)  # MCP's event loop runs beside Playwright's, not inside it

    def mcp(self, tool: str, **arguments: Any) -> Any:
        async def call() -> Any:
            async with Client(server.build_server(service=self.env.service)) as client:
                return await client.call_tool(tool, arguments)

        return self._pool.submit(anyio.run, call).result(timeout=60)

    def propose(self, action: str, **arguments: Any) -> tuple[str, str]:
        """Propose through MCP; the action id and the approve URL Claude's answer carries."""
        result = self.mcp(f"klaviyo_propose_{action}", account="acme", **arguments)
        assert result.is_error is False, result.content
        data = result.structured_content["data"]
        found = APPROVE_URL.search(data["approve"])
        assert found, data["approve"]
        return data["action_id"], found.group(0)

    def close(self) -> None:
        self._pool.shutdown()


@pytest.fixture
def console(sandbox: Sandbox, tmp_path: Path) -> Iterator[Console]:
    sandbox.reset()
    sandbox.set_faults(None)
    holder: dict[str, Any] = {}
    # Bind first, so the approve links can carry the real port (KLAVIYO_MCP_PUBLIC_BASE_URL).
    httpd = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    base_url = f"http://127.0.0.1:{httpd.server_port}"
    settings = settings_for(
        sandbox,
        tmp_path,
        KLAVIYO_MCP_PUBLIC_BASE_URL=base_url,
        KLAVIYO_MCP_REST_RATE_LIMIT="10000/minute",
        KLAVIYO_MCP_USERS_FILE=str(users_file(tmp_path)),
    )
    env = Env(sandbox, tmp_path, settings)
    holder["app"] = create_app(service=env.service)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    console = Console(env, base_url)
    try:
        yield console
    finally:
        console.close()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Any, url: str, token: str) -> None:
    page.goto(url)
    assert "/console/sign-in" in page.url
    page.fill("#token", token)
    page.click("button[type=submit].primary")


def screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def test_from_the_approve_url_to_an_executed_traced_change(console: Console, page: Any) -> None:
    action_id, url = console.propose("create_list", name="Spring VIPs")
    assert url == f"{console.base_url}/console/actions/{action_id}"
    sign_in(page, url, APPROVER_TOKEN)
    assert page.url == url  # back on the proposal after signing in
    assert "Create the list 'Spring VIPs'" in page.inner_text("h1.summary")
    assert "POST /api/lists" in page.inner_text("ol.plan")
    assert '"name": "Spring VIPs"' in page.inner_text("ol.plan pre")
    assert "left" in page.inner_text("strong.left")
    screenshot(page, "proposal.png")
    page.goto(f"{console.base_url}/console/queue")
    assert "Spring VIPs" in page.inner_text("ul.queue")
    screenshot(page, "queue.png")
    page.click("a.summary")
    page.fill("#reason", "Matches the spring plan")
    page.click("button[name=approve]")
    assert "Approved." in page.inner_text("p.flash")
    assert page.get_by_role("button", name="Approve").count() == 0

    executed = console.mcp("klaviyo_execute_action", action_id=action_id)
    assert executed.is_error is False, executed.content
    list_id = executed.structured_content["data"]["created"]["create_list"]["id"]

    page.goto(f"{console.base_url}/console/history")
    item = page.locator("article.history-item", has_text="Spring VIPs")
    assert "succeeded" in item.inner_text() and "Matches the spring plan" in item.inner_text()
    assert "Approved by lead" in item.inner_text()
    item.locator("details summary").click()
    trace = item.locator("table.trace").inner_text()
    assert "POST /api/lists" in trace and "201" in trace
    link = item.get_by_role("link", name="open in Klaviyo")
    assert link.get_attribute("href") == f"https://www.klaviyo.com/list/{list_id}/members"
    screenshot(page, "history.png")


def test_a_rejected_proposal_cannot_be_executed(console: Console, page: Any) -> None:
    action_id, url = console.propose("create_list", name="Unwanted")
    sign_in(page, url, APPROVER_TOKEN)
    page.fill("#reason", "We already have this list")
    page.click("button[name=reject]")
    assert "Rejected." in page.inner_text("p.flash") and "rejected" in page.inner_text("p.meta")
    refused = console.mcp("klaviyo_execute_action", action_id=action_id)
    assert refused.is_error is True and "rejected" in refused.content[0].text
    assert console.env.ledger.get_proposal(action_id).status is ProposalStatus.REJECTED
    assert "lists" not in console.env.created()


def test_a_post_without_the_csrf_token_is_refused(console: Console, page: Any) -> None:
    action_id, url = console.propose("create_list", name="Guarded")
    sign_in(page, url, APPROVER_TOKEN)
    forged = page.request.post(
        f"{console.base_url}/console/actions/{action_id}/decide", form={"reason": "forged", "approve": "Approve"}
    )
    assert forged.status == 400 and "security token" in forged.text()
    assert console.env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING


def test_hostile_account_text_renders_as_inert_text(console: Console, page: Any) -> None:
    list_action, url = console.propose("create_list", name=HOSTILE)
    audience = console.env.get("/api/lists")[0]["id"]
    campaign_action, campaign_url = console.propose(
        "campaign_draft", name="Spring sale", audience_id=audience, subject=BIDI_SUBJECT
    )
    sign_in(page, url, APPROVER_TOKEN)
    assert page.locator("script").count() == 0  # nothing injected into the DOM
    assert HOSTILE in page.inner_text("ol.plan pre")  # shown as the text it is
    assert page.dialogs == []
    page.goto(campaign_url)
    screenshot(page, "hostile.png")
    body = page.inner_text("ol.plan")
    assert "\u202e" not in body and "U+202E" in body  # the override is shown, not obeyed
    badge = page.locator("ol.plan pre .cc").first
    assert badge.inner_text() == "U+202E"
    assert page.locator("ol.plan pre bdi, h1 bdi, ol.plan bdi").count() > 0
    page.goto(f"{console.base_url}/console/queue")
    assert page.locator("script").count() == 0 and HOSTILE in page.inner_text("ul.queue")
    assert page.dialogs == [] and list_action != campaign_action


def test_a_reader_sees_no_approve_button_and_a_forged_post_gets_403(console: Console, page: Any) -> None:
    action_id, url = console.propose("create_list", name="Read only")
    page.goto(url)  # the analyst signs in with a user name and password, and may only read
    page.fill("#username", "analyst")
    page.fill("#password", ANALYST_PASSWORD)
    page.click("button[type=submit].primary")
    assert (
        page.url == url
        and "reader" in page.inner_text("header .who").lower()
        and "Read only" in page.inner_text("h1.summary")
    )
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.get_by_role("button", name="Reject").count() == 0
    assert "read-only" in page.inner_text("section.decide")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = page.request.post(
        f"{console.base_url}/console/actions/{action_id}/decide",
        form={"csrf_token": token, "reason": "let me", "approve": "Approve"},
    )
    assert forged.status == 403
    assert console.env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING


def test_a_clone_proposal_reads_as_a_diff_and_lands_as_a_draft(console: Console, page: Any) -> None:
    acme = console.env.sb.store.accounts["acme"]
    source = next(c for c in acme.campaigns.values() if c.status == "Sent" and c.channel == "email")
    audience = next(iter(acme.segments))
    action_id, url = console.propose(
        "clone_campaign", campaign_id=source.id, new_name="Newsletter again for VIPs", audience_id=audience,
        subject="Back by popular demand",
    )  # fmt: skip
    sign_in(page, url, APPROVER_TOKEN)
    warnings = page.inner_text("ul.warnings")
    assert "Changes from the source: name" in warnings and "→ 'Back by popular demand'" in warnings
    assert "Stays as in the source:" in warnings
    assert "POST /api/campaign-clone" in page.inner_text("ol.plan")
    assert "creates the draft copy campaign" in page.inner_text("ul.effects")
    screenshot(page, "clone-proposal.png")
    page.fill("#reason", "Rerun for the VIP segment")
    page.click("button[name=approve]")
    assert "Approved." in page.inner_text("p.flash")
    executed = console.mcp("klaviyo_execute_action", action_id=action_id)
    assert executed.is_error is False, executed.content
    clone = acme.campaigns[executed.structured_content["data"]["created"]["clone_campaign"]["id"]]
    assert (clone.status, clone.send_time, clone.audiences["included"]) == ("Draft", None, [audience])

"""Signed webhooks to a loopback receiver: proposal.waiting and action.executed, HMAC-SHA256 over
"<timestamp>.<body>", bounded retries, and an action that never waits on (or fails with) the receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from klaviyo_analytics.actions import notify as webhooks
from klaviyo_analytics.config import load_settings
from klaviyo_analytics.errors import ConfigError
from klaviyo_sandbox import Sandbox
from tests.actions.action_env import Env, environment, settings_for

SECRET = "webhook-secret-for-tests-0123456789"


@dataclass
class Receiver:
    url: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    fail_first: int = 0  # answer 503 to this many deliveries first
    delay: float = 0.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.attempts += 1
            time.sleep(state.delay)
            if state.attempts <= state.fail_first:
                self.send_response(503)
                self.end_headers()
                return
            # What a receiver must do, written out here rather than trusting webhooks.verify.
            parts = dict(p.split("=", 1) for p in self.headers[webhooks.SIGNATURE_HEADER].split(","))
            expected = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
            fresh = abs(time.time() - int(parts["t"])) < 60
            ok = hmac.compare_digest(expected, parts["v1"]) and fresh
            ok = ok and webhooks.verify(SECRET, self.headers[webhooks.SIGNATURE_HEADER], body)
            if ok:
                state.events.append({"header": self.headers[webhooks.EVENT_HEADER], **json.loads(body)})
            self.send_response(204 if ok else 401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def hooked_env(sandbox: Sandbox, tmp: Any, url: str) -> Env:
    sandbox.reset()
    # A console is configured for this ledger, so the events carry its link.
    public = {"KLAVIYO_MCP_PUBLIC_BASE_URL": "https://mcp.example.com"}
    settings = settings_for(sandbox, tmp, KLAVIYO_MCP_WEBHOOK_URL=url, KLAVIYO_MCP_WEBHOOK_SECRET=SECRET, **public)
    return Env(sandbox, tmp, settings)


def test_waiting_and_executed_events_arrive_signed(sandbox: Sandbox, tmp_path: Any, receiver: Receiver) -> None:
    env = hooked_env(sandbox, tmp_path, receiver.url)
    ran = env.run("create_list", name="Spring VIPs")
    assert env.service.notifier.flush(10)
    kinds = [e["type"] for e in receiver.events]
    assert kinds == ["proposal.waiting", "action.executed"]
    waiting, executed = receiver.events
    assert waiting["header"] == "proposal.waiting" and waiting["data"]["action_id"] == ran["data"]["action_id"]
    assert waiting["data"]["url"] == f"https://mcp.example.com/console/actions/{ran['data']['action_id']}"
    assert "Spring VIPs" in waiting["data"]["summary"] and waiting["data"]["account"] == "acme"
    assert executed["data"]["status"] == "succeeded"
    assert executed["data"]["created"]["create_list"]["id"] == ran["data"]["created"]["create_list"]["id"]
    assert waiting["id"] != executed["id"]
    assert SECRET not in json.dumps(receiver.events)


def test_a_failing_receiver_is_retried_a_bounded_number_of_times(
    sandbox: Sandbox, tmp_path: Any, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    env = hooked_env(sandbox, tmp_path, receiver.url)
    env.service.notifier._sleep = lambda seconds: None  # backoff is client.retry_delay's; no need to wait it
    env.propose("create_list", name="Retry me")
    assert env.service.notifier.flush(10)
    assert receiver.attempts == 3 and [e["type"] for e in receiver.events] == ["proposal.waiting"]
    receiver.fail_first, receiver.attempts, receiver.events = 10**6, 0, []
    env.propose("create_list", name="Never delivered")
    assert env.service.notifier.flush(10)
    assert receiver.attempts == webhooks.MAX_ATTEMPTS and receiver.events == []


def test_the_action_never_waits_on_the_receiver(sandbox: Sandbox, tmp_path: Any, receiver: Receiver) -> None:
    receiver.delay = 2.0
    env = hooked_env(sandbox, tmp_path, receiver.url)
    started = time.monotonic()
    action_id = env.propose("create_list", name="Quick")
    assert time.monotonic() - started < 1.5  # the receiver takes 2 s per delivery
    assert env.ledger.get_proposal(action_id).summary
    # Nobody listening at all: propose and execute still succeed.
    (tmp_path / "dead").mkdir()
    dead = hooked_env(sandbox, tmp_path / "dead", "http://127.0.0.1:9/none")
    ran = dead.run("create_list", name="No receiver")
    assert ran["data"]["status"] == "succeeded"
    assert dead.service.notifier.flush(30)


def test_a_webhook_url_needs_a_secret(sandbox: Sandbox, tmp_path: Any) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environment(sandbox, tmp_path, KLAVIYO_MCP_WEBHOOK_URL="http://127.0.0.1:9/x"), use_dotenv=False)
    assert refused.value.details["variable"] == "KLAVIYO_MCP_WEBHOOK_SECRET"


def test_verify_refuses_a_stale_or_altered_event() -> None:
    body = b'{"type":"proposal.waiting"}'
    now = int(time.time())
    header = webhooks.sign(SECRET, now, body)
    assert webhooks.verify(SECRET, header, body)
    assert not webhooks.verify(SECRET, header, body + b" ")
    assert not webhooks.verify("another-secret-0123456789", header, body)
    assert not webhooks.verify(SECRET, webhooks.sign(SECRET, now - 3600, body), body)
    assert not webhooks.verify(SECRET, "garbage", body)

"""Signed webhook notifications, so a team can route "a change waits for you" to Slack or email.

Each event is one JSON POST to ``KLAVIYO_MCP_WEBHOOK_URL``::

    {"id": "evt_…", "type": "proposal.waiting" | "action.executed", "created_at": "…", "data": {…}}

    X-Klaviyo-MCP-Event:     the type
    X-Klaviyo-MCP-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(KLAVIYO_MCP_WEBHOOK_SECRET, "<t>.<raw body>")>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares it in constant
time (:func:`verify` does exactly that), refuses a timestamp older than a few minutes (a replay),
and drops an ``id`` it has seen (a retried delivery).

Delivery is off the request path: :meth:`Notifier.send` only puts the event in a bounded queue that
one daemon thread drains. Each POST has a short timeout and is retried a bounded number of times by
the product's one retry rule (``client.should_retry``, as a read: the event id makes a repeat
harmless) with its capped, jittered backoff. A full queue drops the event with a warning. Nothing
here raises into the caller: a broken receiver never blocks or fails the action that fired it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from klaviyo_analytics.clock import SYSTEM_CLOCK
from klaviyo_analytics.klaviyo.client import retry_delay, should_retry
from klaviyo_analytics.logs import get_logger

if TYPE_CHECKING:
    import httpx

EVENT_HEADER = "X-Klaviyo-MCP-Event"
SIGNATURE_HEADER = "X-Klaviyo-MCP-Signature"
TIMEOUT_SECONDS = 5.0
MAX_ATTEMPTS = 4  # the first try and three retries
QUEUE_SIZE = 200
# A receiver should refuse signatures older than this (replays); verify() uses it by default.
TOLERANCE_SECONDS = 300

log = get_logger("klaviyo_analytics.webhooks")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: float | None = None, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: a fresh timestamp and a matching HMAC over ``"<t>." + body``."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((SYSTEM_CLOCK.shared_time() if now is None else now) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def event(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": "evt_" + secrets.token_urlsafe(12),
        "type": kind,
        "created_at": SYSTEM_CLOCK.now().isoformat(timespec="seconds"),
        "data": dict(data),
    }


class Notifier:
    """Sends events to one URL from a background thread; a no-op without a URL."""

    def __init__(
        self,
        url: str | None,
        secret: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url, self._secret = url, secret or ""
        self._transport, self._sleep = transport, sleep
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.url and self._secret)

    def send(self, kind: str, data: Mapping[str, Any]) -> None:
        """Queue one event; returns at once, whatever the receiver does."""
        if not self.enabled:
            return
        try:
            self._queue.put_nowait(event(kind, data))
        except queue.Full:
            log.warning("webhook_dropped", kind=kind, reason="queue full")
            return
        self._start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was delivered or given up on (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._drain, name="webhooks", daemon=True)
                self._thread.start()

    def _drain(self) -> None:
        import httpx  # the first event only: a server without KLAVIYO_MCP_WEBHOOK_URL never loads it here

        with httpx.Client(timeout=TIMEOUT_SECONDS, transport=self._transport) as http:
            while True:
                item = self._queue.get()
                try:
                    self._deliver(http, item)
                except Exception as exc:  # the thread must outlive any one event
                    log.warning("webhook_failed", kind=item["type"], error=type(exc).__name__)
                finally:
                    self._queue.task_done()

    def _deliver(self, http: httpx.Client, item: dict[str, Any]) -> None:
        import httpx

        body = json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()
        for attempt in range(MAX_ATTEMPTS):
            status: int | None = None
            error: Exception | None = None
            headers = {
                "Content-Type": "application/json",
                EVENT_HEADER: item["type"],
                SIGNATURE_HEADER: sign(self._secret, int(SYSTEM_CLOCK.shared_time()), body),  # fresh per attempt
            }
            try:
                response = http.post(str(self.url), content=body, headers=headers)
                status = response.status_code
                if status < 300:
                    return
            except httpx.HTTPError as exc:
                error = exc
            if attempt + 1 == MAX_ATTEMPTS or not should_retry(True, status, error):
                break
            self._sleep(retry_delay(attempt, None))
        log.warning("webhook_failed", kind=item["type"], status=status, error=type(error).__name__ if error else None)

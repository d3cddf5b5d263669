"""A separate process that executes actions: the product as a server would run it, against the
sandbox served over HTTP (KLAVIYO_BASE_URL), with settings from the environment.

One JSON command per stdin line, ``{"id": <action id>, "at": <wall-clock instant>}``; the worker
waits for ``at`` (so several processes start together), executes, and answers one JSON line:
``{"ok": true, "status": ...}`` or ``{"error": CODE, "message": ...}``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from klaviyo_analytics.config import load_settings
from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, build_service
from klaviyo_analytics.tools import get_tool, run_tool
from tests.actions.ledger_worker import wait_until


def main() -> None:
    settings = load_settings(use_dotenv=False)
    service = build_service(settings)
    name = sys.argv[1] if len(sys.argv) > 1 else "worker"
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        command = json.loads(line)
        wait_until(command["at"])
        ctx = CallContext(deadline=Deadline(settings.tool_deadline_seconds), caller=name)
        answer: dict[str, Any]
        try:
            envelope = run_tool(get_tool("klaviyo_execute_action"), service, {"action_id": command["id"]}, ctx)
        except KlaviyoMCPError as exc:
            answer = {"error": exc.code, "message": exc.message}
        else:
            answer = {"ok": True, "status": envelope["data"]["status"], "created": envelope["data"]["created"]}
        sys.stdout.write(json.dumps({**answer, "ended": time.time()}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

"""``/__sandbox/*``: look inside a running sandbox and steer it (loopback callers only, no auth).

GET  /__sandbox/log      every request served so far (method, path, query, body, status, account, key label)
GET  /__sandbox/state    objects created per account, send-job attempts, 429s served
POST /__sandbox/reset    back to the seeded state
POST /__sandbox/faults   JSON body → FaultConfig (``{}`` or ``null`` turns faults off)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from klaviyo_sandbox.faults import FaultConfig
from klaviyo_sandbox.jsonapi import ApiError
from klaviyo_sandbox.wire import SandboxRequest, SandboxResponse, json_response

if TYPE_CHECKING:
    from klaviyo_sandbox.app import Sandbox

_JSON = "application/json"


def _error(err: ApiError) -> SandboxResponse:
    return json_response(err.status, err.document())


def introspect(sandbox: Sandbox, req: SandboxRequest) -> SandboxResponse:
    if not req.trusted:
        return _error(ApiError(403, "permission_denied", "The sandbox control routes answer loopback callers only."))
    route = (req.method, req.path.rstrip("/"))
    if route == ("GET", "/__sandbox/log"):
        return json_response(200, {"entries": sandbox.log()}, _JSON)
    if route == ("GET", "/__sandbox/state"):
        return json_response(200, sandbox.state(), _JSON)
    if route == ("POST", "/__sandbox/reset"):
        sandbox.reset()
        return json_response(200, {"reset": True}, _JSON)
    if route == ("POST", "/__sandbox/faults"):
        try:
            raw: Any = json.loads(req.body) if req.body.strip() else None
            config = FaultConfig.from_dict(raw) if raw else None
        except (ValueError, TypeError) as exc:
            return _error(ApiError(400, "invalid", f"Invalid fault configuration: {exc}", pointer="/"))
        sandbox.set_faults(config)
        return json_response(200, {"faults": config.to_dict() if config else None}, _JSON)
    return _error(ApiError(404, "not_found", f"No sandbox control route {req.method} {req.path}."))

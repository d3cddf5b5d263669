"""What must still hold just before a step runs, read again at execute time (not only at propose).

A plan is approved on what Klaviyo held when it was proposed; a destructive step re-reads the
object first. Kinds:

- ``flow_not_live``: the flow is not live (a person may have turned it on after the approval:
  deleting it then would stop live sends the approver never saw). A flow that is gone already is
  ``"gone"``: after a lost DELETE answer that is the step having landed.
- ``exists``: the object is read again (a webhook); only ``"gone"`` matters, as above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klaviyo_analytics.actions import plans
from klaviyo_analytics.errors import ConflictError, NotFoundError

Get = Callable[[str], Any]  # GET a path, answering the parsed document


def flow_not_live(flow_id: Any) -> dict[str, Any]:
    return {"kind": "flow_not_live", "path": "/api/flows/{flow_id}", "path_params": {"flow_id": flow_id}}


def exists(path: str, **path_params: Any) -> dict[str, Any]:
    return {"kind": "exists", "path": path, "path_params": path_params}


def check(get: Get, precondition: dict[str, Any]) -> str:
    """``"ok"`` or ``"gone"``; raises ConflictError when the precondition no longer holds."""
    if precondition.get("kind") not in ("flow_not_live", "exists"):
        raise ConflictError(f"unknown precondition {precondition.get('kind')!r} in the plan")
    try:
        document = get(plans.render_path(precondition["path"], precondition.get("path_params")))
    except NotFoundError:
        return "gone"
    if precondition["kind"] == "exists":
        return "ok"
    status = plans.dig(document, "data.attributes.status")
    if status == "live":
        raise ConflictError(
            "the flow is live now (it was not when this was approved): deleting it would stop live sends; "
            "nothing was deleted — pause it in Klaviyo first and propose again",
            status=status,
        )
    return "ok"

"""One Flask route per catalog entry, plus /v1/tools. No per-tool code (/health: api/status.py)."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Flask, Response, g, jsonify, request

from api.limits import json_body
from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.tools import ToolSpec, visible_tools
from klaviyo_analytics.tools.runner import run_tool, run_tool_json

# A finite wait (threading refuses an infinite timeout; an unlimited deadline still gets its chart).
MAX_WAIT = 3600.0
# The JSON variant of a chart: the answer, the chart's values and the PNG as a data: URL (docs/rest-api.md).
CHART_JSON = "application/vnd.klaviyo-mcp.chart+json"


def tool_arguments(spec: ToolSpec, path_args: dict[str, Any]) -> dict[str, Any]:
    """GET tools take query parameters; POST tools a JSON object body. Path parameters join either."""
    if spec.method == "GET":
        arguments: dict[str, Any] = {}
        for key in request.args:
            values = request.args.getlist(key)
            arguments[key] = values if len(values) > 1 else values[0]
    else:
        if request.content_length and not request.is_json:
            raise InvalidArgumentError("send the body as JSON (Content-Type: application/json)", field="(body)")
        body = json_body() if request.content_length else {}
        if not isinstance(body, dict):
            raise InvalidArgumentError("the body must be a JSON object of the tool's fields", field="(body)")
        arguments = body
    for name, value in path_args.items():
        if name in arguments and arguments[name] != value:
            raise InvalidArgumentError(f"{name} is given both in the path and the body", field=name)
        arguments[name] = value
    return arguments


def make_view(spec: ToolSpec, service: KlaviyoService) -> Callable[..., Response]:
    def view(**path_args: Any) -> Response:
        ctx = CallContext(
            deadline=Deadline(service.settings.tool_deadline_seconds),
            caller=g.principal.user,
            principal=g.principal,
            transport="rest",
        )
        wanted = request.accept_mimetypes.best_match(["application/json", "image/png", CHART_JSON])
        if spec.chart and wanted in ("image/png", CHART_JSON):
            envelope = run_tool(spec, service, tool_arguments(spec, path_args), ctx)
            return chart_response(envelope, wanted, ctx.deadline.remaining())
        body = run_tool_json(spec, service, tool_arguments(spec, path_args), ctx)
        return Response(body, mimetype="application/json")

    view.__name__ = spec.name
    return view


def chart_response(envelope: dict[str, Any], wanted: str, seconds: float) -> Response:
    """The chart of a result as PNG, or as the envelope plus the chart's values and the image as a data:
    URL (CHART_JSON; docs/rest-api.md). With nothing to draw, or when the drawing would end after the
    call's deadline (``seconds`` from now), the JSON envelope: it is whole without its chart."""
    from klaviyo_analytics.render.charts import chart_of

    chart = chart_of(envelope)
    if chart is None:
        return jsonify(envelope)
    from klaviyo_analytics.render.figure import render_png

    try:
        png = _drawing_pool().submit(render_png, chart).result(timeout=min(seconds, MAX_WAIT))
    except FutureTimeout:
        return jsonify(envelope)
    if wanted == "image/png":
        # Where the values are: the same request asking for CHART_JSON (the PNG's Description holds them too).
        link = f'<{request.path}>; rel="alternate"; type="{CHART_JSON}"'
        return Response(png, mimetype="image/png", headers={"Link": link})
    image = "data:image/png;base64," + base64.b64encode(png).decode()
    body = jsonify({**envelope, "chart": {**chart.values(), "alt": chart.summary(), "image": image}})
    body.mimetype = CHART_JSON
    return body


@functools.cache
def _drawing_pool() -> ThreadPoolExecutor:
    # Figures are drawn one at a time (figure.py's lock); the pool lets a late one be left, not waited for.
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")


def install_routes(app: Flask, service: KlaviyoService) -> None:
    specs = visible_tools(service.settings.read_only, service.settings.toolsets)
    for spec in specs:
        app.add_url_rule(spec.path, endpoint=spec.name, view_func=make_view(spec, service), methods=[spec.method])

    @app.get("/v1/tools")
    def tools() -> Response:
        return jsonify(
            {
                "tools": [
                    {
                        "name": s.name,
                        "title": s.title,
                        "description": s.description,
                        "method": s.method,
                        "path": s.path,
                        "read_only": s.read_only,
                        "scopes": list(s.scopes),
                        "toolset": s.toolset,
                    }
                    for s in specs
                ]
            }
        )

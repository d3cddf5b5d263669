"""The MCP server: one MCP tool per catalog entry, nothing tool-specific here.

Over stdio (the default) stdout is the JSON-RPC channel; logs go to stderr. Run ``python server.py``,
or ``python server.py --transport streamable-http --host H --port P`` for the remote server at /mcp
(see klaviyo_analytics/adapters/mcp_http.py), where every call runs as the bearer token's principal.
"""

from __future__ import annotations

import importlib.util
import sys

from klaviyo_analytics import interpreter_hint  # the package root imports nothing outside the standard library

# Before any third-party import: started by an interpreter without the project's packages (the system
# python3), say which one to use, in one line, instead of a bare ModuleNotFoundError.
for _needed in ("anyio", "mcp", "pydantic", "httpx", "platformdirs"):
    if importlib.util.find_spec(_needed) is None:
        sys.stderr.write(f"server.py: {interpreter_hint(_needed)}\n")
        raise SystemExit(2)

import argparse
from collections.abc import Mapping
from typing import Any, cast

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.apps import Apps, client_supports_apps
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    ImageContent,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, ConfigDict, Field

from klaviyo_analytics import __version__
from klaviyo_analytics.actions.confirm import ConfirmFn, ConfirmingContext
from klaviyo_analytics.adapters.mcp_cache import CATALOG_CACHE_HINTS
from klaviyo_analytics.adapters.mcp_stdio import run_stdio
from klaviyo_analytics.auth.principal import LOCAL, Principal
from klaviyo_analytics.auth.tokens import principal_of
from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.errors import KlaviyoMCPError, UnauthenticatedError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.logs import configure_logging, get_logger
from klaviyo_analytics.render.chart_app import CHART_HTML, CHART_URI
from klaviyo_analytics.render.prompts import PROMPTS, PromptSpec, check
from klaviyo_analytics.render.text import render_error, render_result
from klaviyo_analytics.rules.untrusted import scrub
from klaviyo_analytics.service import CallContext, KlaviyoService, build_service
from klaviyo_analytics.tools import ToolSpec, internal_error, run_tool, visible_tools

INSTRUCTIONS = (
    "Reports on Klaviyo campaigns, flows, lists and segments, and prepares changes that a person must "
    "approve outside this chat. Results carry warnings inside the structured content: read them. "
    "Leave out `account` when only one account is configured (klaviyo_list_accounts lists them)."
)
log = get_logger("klaviyo_analytics.mcp")


class RawArguments(ArgModelBase):
    """Hands the raw arguments to the tool untouched, so the catalog's own pydantic model
    validates them and bad input comes back as the product's INVALID_ARGUMENT error."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def error_result(error: KlaviyoMCPError) -> CallToolResult:
    body = scrub(error.to_dict())  # details may echo the caller's input or account text
    return CallToolResult(
        content=[TextContent(type="text", text=render_error(body))], structured_content={"error": body}, is_error=True
    )


def _progress_bridge(ctx: Context) -> Any:
    """Progress from the worker thread a handler runs in, forwarded to the client."""

    def progress(done: float, total: float | None, message: str | None) -> None:
        try:
            anyio.from_thread.run(ctx.report_progress, done, total, message)
        except Exception:  # a progress notification must never fail the call
            log.debug("mcp.progress_failed")

    return progress


class Confirmation(BaseModel):
    confirm: bool = Field(description="Yes, run it now.")


def _confirm_bridge(ctx: Context) -> ConfirmFn | None:
    """A yes/no question to the person at the client (elicitation), if the client can be asked.

    Asked mid-call, as a server-to-client request: sessions of the newest protocol revisions have no
    such back-channel (they would need an input-required round trip), and there the question is
    simply not put — the approval outside the chat remains the gate either way.
    """
    try:
        capabilities = ctx.client_capabilities
    except Exception:  # no request context: nobody to ask
        return None
    if capabilities is None or capabilities.elicitation is None:
        return None

    def confirm(message: str) -> bool | None:
        try:
            answer = anyio.from_thread.run(ctx.elicit, message, Confirmation)
        except NoBackChannelError:
            return None
        except Exception:  # a question that could not be answered is not a yes
            log.warning("mcp.elicitation_failed", exc_info=True)
            return False
        return answer.action == "accept" and answer.data.confirm

    return confirm


def _caller(ctx: Context) -> tuple[str, Principal]:
    """Who is calling: over HTTP the principal of the bearer token the auth middleware accepted;
    over stdio (no HTTP request) the local user. An HTTP request without one is refused, not LOCAL."""
    try:
        request = ctx.request_context.request
    except ValueError:  # no request context: an in-process call
        return "mcp", LOCAL
    scope = getattr(request, "scope", None)
    if not isinstance(scope, Mapping):
        return "mcp", LOCAL

    principal = principal_of(getattr(scope.get("user"), "access_token", None))
    if principal is None:
        raise UnauthenticatedError("this request carries no accepted bearer token")
    return principal.user, principal


def make_tool(spec: ToolSpec, service: KlaviyoService) -> Tool:
    async def call(arguments: Mapping[str, Any], ctx: Context) -> CallToolResult:
        try:
            caller, principal = _caller(ctx)
        except KlaviyoMCPError as exc:
            return error_result(exc)
        call_ctx: CallContext = ConfirmingContext(
            deadline=Deadline(service.settings.tool_deadline_seconds),
            progress=_progress_bridge(ctx),
            caller=caller,
            principal=principal,
            confirm=_confirm_bridge(ctx),
        )
        try:
            envelope = await anyio.to_thread.run_sync(run_tool, spec, service, arguments, call_ctx)
        except KlaviyoMCPError as exc:
            return error_result(exc)
        except Exception as exc:
            return error_result(internal_error(spec.name, exc))
        content: list[Any] = [TextContent(type="text", text=render_result(envelope))]
        if spec.chart and not client_supports_apps(ctx):
            image = chart_png(envelope)
            if image is not None:
                content.append(ImageContent(type="image", data=image, mime_type="image/png"))
        return CallToolResult(content=content, structured_content=envelope)

    return Tool(
        fn=call,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        parameters=spec.input_schema,
        fn_metadata=FuncMetadata(arg_model=RawArguments, output_schema=spec.output_schema),
        is_async=True,
        context_kwarg="ctx",
        annotations=ToolAnnotations.model_validate(spec.annotations),
        meta={"ui": {"resourceUri": CHART_URI}} if spec.chart else None,
    )


def chart_png(envelope: dict[str, Any]) -> str | None:
    """The result's chart as base64 PNG (None: nothing to draw); the drawing code loads on first use."""
    import base64

    from klaviyo_analytics.render.charts import chart_of
    from klaviyo_analytics.render.png import render_png

    chart = chart_of(envelope)
    return base64.b64encode(render_png(chart)).decode() if chart else None


def chart_app() -> Apps:
    """The MCP Apps extension serving the chart view the chart tools point at."""
    apps = Apps()
    apps.add_html_resource(CHART_URI, CHART_HTML, name="chart", title="Chart of a klaviyo-mcp result")
    return apps


class CheckedPrompt(Prompt):
    """A prompt whose bad arguments come back as INVALID_PARAMS naming the argument (the SDK would
    report a missing one as an internal error)."""

    spec: PromptSpec

    async def render(self, arguments: dict[str, Any] | None, context: Any) -> Any:
        try:
            check(self.spec, dict(arguments or {}))
        except ValueError as exc:
            raise MCPError(INVALID_PARAMS, f"{self.name}: {exc}") from None
        return await super().render(arguments, context)


def make_prompt(spec: PromptSpec) -> Prompt:
    """One MCP prompt per entry of klaviyo_analytics/render/prompts.py; its text comes from the entry."""

    def render(**values: str | None) -> str:
        return spec.render(values)

    return CheckedPrompt(
        spec=spec,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        arguments=[PromptArgument(name=a.name, description=a.description, required=a.required) for a in spec.arguments],
        fn=render,
    )


def build_server(settings: Settings | None = None, service: KlaviyoService | None = None) -> MCPServer:
    settings = settings or (service.settings if service else load_settings())
    service = service or build_service(settings)
    tools = [make_tool(spec, service) for spec in visible_tools(settings.read_only, settings.toolsets)]
    server = MCPServer(
        name="klaviyo-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=tools,
        log_level=cast(Any, settings.log_level),
        extensions=[chart_app()],
        cache_hints=CATALOG_CACHE_HINTS,  # the catalog is fixed at start and the same for every caller
        subscriptions=False,  # so nothing ever changes to notify of: no listen streams held open for nothing
    )
    offered = {spec.name for spec in visible_tools(settings.read_only, settings.toolsets)}
    for prompt in PROMPTS:
        # A prompt that names a tool KLAVIYO_MCP_TOOLSETS hides would send the model after a tool it cannot call.
        if set(prompt.tools) <= offered:
            server.add_prompt(make_prompt(prompt))
    return server


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="server.py", description="The klaviyo-mcp MCP server.")
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--host", help="interface to bind (default KLAVIYO_MCP_HTTP_HOST)")
    parser.add_argument("--port", type=int, help="port (default KLAVIYO_MCP_HTTP_PORT)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        if args.transport == "stdio":
            anyio.run(run_stdio, build_server(settings))
            return 0
        from dataclasses import replace

        from klaviyo_analytics.adapters.mcp_auth import build_auth
        from klaviyo_analytics.adapters.mcp_http import build_http_app, serve
        from klaviyo_analytics.auth.users import load_directory

        settings = replace(settings, mcp_host=args.host or settings.mcp_host, mcp_port=args.port or settings.mcp_port)
        service = build_service(settings)
        directory = load_directory(settings, service.registry.names)
        app = build_http_app(settings, build_server(settings, service), build_auth(settings, directory))
    except KlaviyoMCPError as exc:
        sys.stderr.write(f"{exc.code}: {exc.message}\n")
        return 2
    log.info("mcp.http_listening", host=settings.mcp_host, port=settings.mcp_port, oauth_mode=settings.oauth_mode)
    serve(settings, app, settings.mcp_host, settings.mcp_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())

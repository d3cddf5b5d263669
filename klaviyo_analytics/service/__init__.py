"""Domain logic behind the tools: plain functions over a shared KlaviyoService."""

from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult, build_service

__all__ = ["CallContext", "KlaviyoService", "ToolResult", "build_service"]

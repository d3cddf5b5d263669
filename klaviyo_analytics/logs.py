"""Structured logging to stderr.

stdout belongs to the MCP JSON-RPC channel, so every log line goes to stderr, and every
event passes through the redaction processor last, after all other processors have run.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from klaviyo_analytics.klaviyo.redact import redact


def _redact_event(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return {key: redact(value) for key, value in event_dict.items()}


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of the write, not at configuration
    (test harnesses and daemons swap it; a logger holding a closed stream would crash)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO") -> None:
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=numeric, format="%(message)s", force=True)
    # httpx logs every request at INFO; the client logs its own calls with more context.
    logging.getLogger("httpx").setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # log.exception's traceback as text under "exception" (redacted like the rest): without
            # this processor exc_info is set but nothing renders it, and a 500 leaves no trace.
            structlog.processors.format_exc_info,
            _redact_event,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    if not structlog.is_configured():
        # structlog's default prints to stdout, which would corrupt the MCP channel.
        configure_logging()
    return structlog.get_logger(name)

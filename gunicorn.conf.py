"""The one gunicorn configuration of every documented way to serve the REST API (docs/, Dockerfile,
docker-compose.yml, `make serve`): `.venv/bin/gunicorn -c gunicorn.conf.py "api:create_app()"`.
Every value comes from the settings table (klaviyo_analytics/config.py), like the app's own.

- bind: KLAVIYO_MCP_REST_HOST:KLAVIYO_MCP_REST_PORT (127.0.0.1:8080 by default, as every curl example
  assumes); the image passes --bind 0.0.0.0:8080, which wins over this file.
- workers: WEB_CONCURRENCY (gunicorn's own variable), 2 by default, each with KLAVIYO_MCP_GUNICORN_THREADS
  (8 by default) threads: ``api.gunicorn_worker.JsonThreadWorker`` (gthread), so a slow client or
  a request waiting on Klaviyo holds one thread, never a worker; each request must arrive whole
  within its read deadline (408), and gunicorn's own errors (400, 408, 414, 431) answer as JSON.
- timeout: above KLAVIYO_MCP_TOOL_DEADLINE_SECONDS, so a call that waits on Klaviyo's Retry-After ends with its
  own DEADLINE_EXCEEDED or RATE_LIMITED answer instead of gunicorn killing the worker (an empty reply).
"""

from __future__ import annotations

from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.errors import ConfigError

# Room for the answer to be written after the deadline passes, and for a slow client to read it.
TIMEOUT_MARGIN_SECONDS = 15


def _settings_or_defaults() -> Settings:
    try:
        return load_settings()
    except ConfigError:
        # create_app reports the bad setting by name when the worker boots; the defaults keep the
        # server's own configuration from failing first with a less useful message.
        return Settings()


_settings = _settings_or_defaults()
_host, _port = _settings.rest_host, _settings.rest_port
bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"]
workers = _settings.web_concurrency
worker_class = "api.gunicorn_worker.JsonThreadWorker"
threads = _settings.gunicorn_threads
timeout = int(_settings.tool_deadline_seconds) + TIMEOUT_MARGIN_SECONDS
graceful_timeout = 30
keepalive = 5
accesslog = "-"

# Prometheus multiprocess mode (PROMETHEUS_MULTIPROC_DIR): gunicorn finds these hooks by name here.
from api.gunicorn_hooks import child_exit, on_starting  # noqa: E402, F401

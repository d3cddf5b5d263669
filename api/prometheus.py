"""``GET /metrics``: Prometheus text format, for any valid REST token (auth covers it like any route).

Each app has its own registry (``klaviyo_analytics.adapters.prometheus.Metrics``), bound to its service so the
tool runner and the Klaviyo client feed it. Under gunicorn with several workers, set
``PROMETHEUS_MULTIPROC_DIR`` (and use ``api/gunicorn_hooks.py``): every worker writes its counts
there and any worker's scrape sums them all.
"""

from __future__ import annotations

import os

from flask import Flask, Response

from klaviyo_analytics.adapters import prometheus
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.service import KlaviyoService


def check_multiproc_dir(service: KlaviyoService) -> None:
    configured = service.settings.prometheus_multiproc_dir
    if configured is None:
        return
    # prometheus-client reads the real environment when it is imported, never a .env file.
    if os.environ.get(prometheus.MULTIPROC_ENV) != str(configured):
        raise ConfigError(
            "PROMETHEUS_MULTIPROC_DIR must be set in the real environment of the server process, not only in .env",
            variable=prometheus.MULTIPROC_ENV,
        )
    if not configured.is_dir() or not os.access(configured, os.W_OK):
        raise ConfigError("PROMETHEUS_MULTIPROC_DIR must be a writable directory", variable=prometheus.MULTIPROC_ENV)


def install_metrics(app: Flask, service: KlaviyoService) -> prometheus.PrometheusMetrics:
    check_multiproc_dir(service)
    bound = prometheus.bind(service, prometheus.PrometheusMetrics())
    app.extensions["klaviyo_metrics"] = bound

    @app.get("/metrics", endpoint="metrics")
    def scrape() -> Response:
        return Response(bound.render(), content_type=prometheus.CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return bound

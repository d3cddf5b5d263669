"""``GET /metrics``: Prometheus text format, for any valid REST token (auth covers it like any route).

Each app has its own registry (``klaviyo_analytics.metrics.Metrics``), bound to its service so the
tool runner and the Klaviyo client feed it. Under gunicorn every worker process keeps its own
counts, and a scrape reads whichever worker answers it: scrape each worker, or run one worker
with threads, until the counts move to a shared store.
"""

from __future__ import annotations

from flask import Flask, Response

from klaviyo_analytics import metrics
from klaviyo_analytics.service import KlaviyoService


def install_metrics(app: Flask, service: KlaviyoService) -> metrics.Metrics:
    bound = metrics.bind(service, metrics.Metrics())
    app.extensions["klaviyo_metrics"] = bound

    @app.get("/metrics", endpoint="metrics")
    def scrape() -> Response:
        return Response(bound.render(), content_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return bound

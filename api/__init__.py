"""The REST adapter: ``create_app()`` builds one Flask route per catalog entry.

Serve with ``gunicorn "api:create_app()"``. Every route but ``/health`` needs a token.
"""

from __future__ import annotations

from flask import Flask

from api.approvals import approvals
from api.auth import install_auth
from api.errors import install_error_handlers
from api.routes import install_routes
from klaviyo_analytics import __version__
from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.logs import configure_logging
from klaviyo_analytics.service import KlaviyoService, build_service

# Tool inputs are small; anything bigger is a mistake or an attack.
MAX_BODY_BYTES = 256 * 1024


def create_app(config: Settings | None = None, service: KlaviyoService | None = None) -> Flask:
    settings = config or (service.settings if service else load_settings())
    configure_logging(settings.log_level)
    if not settings.rest_tokens:
        raise ConfigError(
            "no REST credential configured: set REST_API_KEY or REST_API_TOKENS before starting the REST API",
            variable="REST_API_KEY",
        )
    service = service or build_service(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["klaviyo_service"] = service
    app.extensions["klaviyo_version"] = __version__
    install_error_handlers(app)
    install_auth(app, settings)
    install_routes(app, service)
    app.register_blueprint(approvals)
    return app

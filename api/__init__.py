"""The REST adapter: ``create_app()`` builds one Flask route per catalog entry.

Serve with ``gunicorn "api:create_app()"``. Every route but ``/health`` and ``/openapi.json`` needs a
token; ``/openapi.json`` describes them all.
"""

from __future__ import annotations

from flask import Flask

from api.approvals import approvals
from api.auth import install_auth
from api.console import install_console
from api.errors import ScrubbedJSON, install_error_handlers
from api.limits import install_body_checks, install_rate_limits
from api.openapi import install_openapi
from api.preflight import require_rest_credential, require_tokens
from api.prometheus import install_metrics
from api.routes import install_routes
from api.status import install_health
from klaviyo_analytics import __version__
from klaviyo_analytics.auth.users import load_directory
from klaviyo_analytics.config import Settings, load_settings
from klaviyo_analytics.logs import configure_logging
from klaviyo_analytics.service import KlaviyoService, build_service

# Tool inputs are small; anything bigger is a mistake or an attack.
MAX_BODY_BYTES = 256 * 1024


def create_app(config: Settings | None = None, service: KlaviyoService | None = None) -> Flask:
    settings = config or (service.settings if service else load_settings())
    configure_logging(settings.log_level)
    require_rest_credential(settings)
    service = service or build_service(settings)
    # Account slugs check the users file's grants; without one there is nothing to check.
    directory = load_directory(settings, service.registry.names if settings.users_file else ())
    require_tokens(directory)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # "/v1/flows//structure" (an id that was "/" or "..%2F") would get werkzeug's HTML 308 to a merged
    # path, outside every error handler; unmerged, it is a plain 404 in the one error shape.
    app.url_map.merge_slashes = False
    app.json = ScrubbedJSON(app)
    app.extensions["klaviyo_service"] = service
    app.extensions["klaviyo_version"] = __version__
    install_error_handlers(app)
    # Order matters: the rate limit counts strangers too, so it runs before auth; bodies are read after.
    install_rate_limits(app, settings, directory)
    install_auth(app, directory)
    install_body_checks(app)
    install_routes(app, service)
    install_health(app, service, directory)
    install_metrics(app, service)
    install_openapi(app)
    app.register_blueprint(approvals)
    install_console(app, settings)
    return app

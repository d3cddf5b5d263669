"""The approval console: server-rendered pages where a person reviews, approves and audits actions.

    /console/sign-in      a token, or a user name and password (KLAVIYO_MCP_USERS_FILE) → a session
    /console/queue        pending proposals per account, newest first, with the time left
    /console/actions/<id> one proposal: summary, every planned call and body, warnings, what it
                          creates or changes, same-named objects; Approve / Reject with a reason
    /console/history      executed, failed, expired and rejected actions, each with its trace

An adapter like REST: it reads the ledger and decides through ``approvals.decide``. Its protections,
all here: a session of its own (``access``; the token check of the JSON API skips /console), a
CSRF token on every form (Flask-WTF; checked for every console POST, and only there, so the JSON
API is unaffected), a strict Content-Security-Policy (no script at all, no framing, forms post
only to this site), autoescaped templates with account text shown inert (``present.visible``).
"""

from __future__ import annotations

from flask import Flask, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from api.console import access, present
from api.console.forms import SignOutForm
from api.console.views import blueprint
from klaviyo_analytics.config import Settings
from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.tools import internal_error

CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}
OPEN_ENDPOINTS = frozenset({"console_pages.sign_in", "console_pages.static"})


def install_console(app: Flask, settings: Settings) -> None:
    access.configure_sessions(app, settings)
    # CSRF is checked where the console asks for it (every console POST), never app-wide.
    app.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None)
    csrf = CSRFProtect(app)
    app.jinja_env.filters["visible"] = present.visible
    app.jinja_env.filters["pretty"] = present.pretty
    pages = blueprint()
    directory = app.extensions["klaviyo_users"]  # the user directory install_auth uses

    @pages.before_request
    def gate() -> Response | None:
        if request.method == "POST":
            csrf.protect()
        viewer = access.current_viewer(settings, directory)
        g.viewer = viewer
        if viewer is None and request.endpoint not in OPEN_ENDPOINTS:
            if request.method != "GET":
                return page_error(401, "Sign in first.")
            return redirect(url_for("console_pages.sign_in", next=request.full_path.rstrip("?")))
        return None

    @pages.after_request
    def headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    @pages.context_processor
    def chrome() -> dict[str, object]:
        return {"viewer": g.get("viewer"), "sign_out_form": SignOutForm, "passwords": access.has_passwords(directory)}

    @pages.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> Response:
        return page_error(
            400,
            "This form was not sent from the console page (its security token is missing or "
            "stale). Reload the page and try again.",
        )

    @pages.errorhandler(KlaviyoMCPError)
    def refused(exc: KlaviyoMCPError) -> Response:
        return page_error(exc.http_status, exc.message)

    @pages.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return page_error(exc.code or 500, exc.description or exc.name)

    @pages.errorhandler(Exception)
    def crashed(exc: Exception) -> Response:
        return page_error(500, internal_error("console page", exc).message)

    app.register_blueprint(pages)


def page_error(status: int, message: str) -> Response:
    response = Response(render_template("console/error.html", status=status, message=message), status=status)
    response.mimetype = "text/html"
    return response

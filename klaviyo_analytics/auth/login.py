"""The login and consent page between /authorize and the authorization code.

Server-rendered (Jinja, autoescaped: client names are attacker-chosen text), no script at all and a
CSP that forbids any; a CSRF token per login (an HMAC over a cookie nonce and the login id, checked
in constant time); attempts rate-limited per user name and per client address on the `limits`
package's moving window (KLAVIYO_MCP_REST_RATE_LIMIT_STORAGE, so instances share counts with redis://).
Passwords are checked by the user directory (argon2) and never logged.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from klaviyo_analytics.auth.client_metadata import is_url_client_id
from klaviyo_analytics.auth.provider import LOGIN_PATH, EmbeddedProvider
from klaviyo_analytics.auth.users import LOGIN_USER_KEY, UserDirectory
from klaviyo_analytics.logs import get_logger
from klaviyo_analytics.rules import untrusted

log = get_logger("klaviyo_analytics.auth")
CSS_PATH = "/oauth/login.css"
COOKIE = "klaviyo_mcp_login"
TEMPLATES = Path(__file__).parent / "templates"
MAX_FIELD = 256


class LoginPages:
    def __init__(self, provider: EmbeddedProvider, directory: UserDirectory, rate_limit: str, storage_uri: str) -> None:
        self.provider, self.directory = provider, directory
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
        self.limit = parse(rate_limit)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.secure_cookie = provider.issuer.startswith("https://")

    def routes(self) -> list[Route]:
        return [
            Route(LOGIN_PATH, self.page, methods=["GET", "POST"]),
            Route(CSS_PATH, self.css, methods=["GET"]),
        ]

    async def css(self, request: Request) -> Response:
        return Response((TEMPLATES / "login.css").read_text(), media_type="text/css")

    def _csrf(self, nonce: str, login_id: str) -> str:
        return self.provider.key.mac("login-csrf", f"{nonce}:{login_id}")

    def _render(
        self, template: str, status: int = 200, form_target: str | None = None, **context: object
    ) -> HTMLResponse:
        html = self.env.get_template(template).render(css_url=CSS_PATH, action=LOGIN_PATH, **context)
        # Chrome applies form-action to the redirect after a POST: the client's origin must be allowed.
        form_action = "'self'" + (f" {form_target}" if form_target else "")
        headers = {
            "Content-Security-Policy": f"default-src 'none'; style-src 'self'; form-action {form_action}; "
            "frame-ancestors 'none'; base-uri 'none'",
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }
        return HTMLResponse(html, status_code=status, headers=headers)

    def _message(self, title: str, message: str, status: int) -> HTMLResponse:
        return self._render("message.html", status=status, title=title, message=message)

    async def page(self, request: Request) -> Response:
        if request.method == "GET":
            login_id = request.query_params.get("id", "")
            return await self._form(request, login_id, nonce=secrets.token_urlsafe(16), new_cookie=True)
        form = await request.form()
        fields = {k: form.get(k) for k in ("id", "csrf", "username", "password", "decision")}
        if not all(isinstance(v, str) and len(v) <= MAX_FIELD for v in fields.values() if v is not None):
            return self._message("Bad request", "The form was not filled in as sent.", 400)
        login_id, csrf = str(fields["id"] or ""), str(fields["csrf"] or "")
        nonce = request.cookies.get(COOKIE, "")
        if not nonce or not hmac.compare_digest(csrf, self._csrf(nonce, login_id)):
            return self._message(
                "Sign-in expired",
                "This form has expired or did not come from this page. Start again from your app.",
                403,
            )
        if fields["decision"] == "deny":
            return self._back(self.provider.finish_login(login_id, None))
        username = str(fields["username"] or "").strip()
        address = request.client.host if request.client else "unknown"
        allowed = [
            self.limiter.hit(self.limit, LOGIN_USER_KEY, username.lower()),
            self.limiter.hit(self.limit, "oauth-login-addr", address),
        ]
        if not all(allowed):
            log.warning("oauth.login_rate_limited", user=username, address=address)
            return await self._form(
                request,
                login_id,
                nonce,
                error="Too many sign-in attempts. Wait a minute, then try again.",
                status=429,
                username=username,
            )
        if not username or not self.directory.verify_password(username, str(fields["password"] or "")):
            log.info("oauth.login_failed", user=username, address=address)
            return await self._form(
                request, login_id, nonce, error="Wrong user or password.", status=401, username=username
            )
        return self._back(self.provider.finish_login(login_id, username))

    async def _form(
        self,
        request: Request,
        login_id: str,
        nonce: str,
        *,
        error: str | None = None,
        status: int = 200,
        username: str = "",
        new_cookie: bool = False,
    ) -> Response:
        pending = await self.provider.pending(login_id) if login_id else None
        if pending is None:
            return self._message(
                "Sign-in expired", "This sign-in link has expired or was already used. Start again from your app.", 400
            )
        client, params = pending
        target = urlsplit(str(params.redirect_uri))
        # The host as a browser parses it (never userinfo: "claude.ai@evil.example" is evil.example).
        host = (f"[{target.hostname}]" if ":" in (target.hostname or "") else target.hostname or "") + (
            f":{target.port}" if target.port else ""
        )
        response = self._render(
            "login.html",
            status=status,
            form_target=f"{target.scheme}://{host}",
            error=error,
            # Bidi controls and other format characters stripped; the template isolates it too (<bdi>).
            client_name=untrusted.cap(untrusted.strip_controls(client.client_name or ""), 200) or "An application",
            redirect_host=host,
            # A metadata-document client is known by the host that serves its document (its client_id URL).
            client_host=urlsplit(client.client_id).netloc if is_url_client_id(client.client_id) else None,
            login_id=login_id,
            csrf=self._csrf(nonce, login_id),
            username=username,
        )
        if new_cookie:
            response.set_cookie(
                COOKIE, nonce, max_age=600, path="/oauth", httponly=True, secure=self.secure_cookie, samesite="strict"
            )
        return response

    def _back(self, location: str | None) -> Response:
        if location is None:
            return self._message(
                "Sign-in expired", "This sign-in was already answered or has expired. Start again from your app.", 400
            )
        return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})

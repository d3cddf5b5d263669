"""A browser's and an OAuth client's moves against the embedded authorization server, with httpx."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

REDIRECT_URI = "http://127.0.0.1:33418/callback"
# Browsers opened by open_login; the conftest closes them after each test.
BROWSERS: list[httpx.Client] = []


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def register(base: str, redirect_uris: list[str] | None = None, **extra: Any) -> httpx.Response:
    body = {"redirect_uris": redirect_uris or [REDIRECT_URI], "client_name": "Test connector", **extra}
    return httpx.post(base + "/register", json=body)


@dataclass
class LoginPage:
    client: httpx.Client
    login_id: str
    csrf: str
    html: str

    def submit(self, username: str, password: str, decision: str = "allow") -> httpx.Response:
        form = {
            "id": self.login_id,
            "csrf": self.csrf,
            "username": username,
            "password": password,
            "decision": decision,
        }
        return self.client.post("/oauth/login", data=form)


def open_login(base: str, params: dict[str, str]) -> tuple[httpx.Response, LoginPage | None]:
    """GET /authorize as a browser would; follow to the login page if it redirects there."""
    browser = httpx.Client(base_url=base)
    BROWSERS.append(browser)
    answer = browser.get("/authorize", params=params)
    location = answer.headers.get("location", "")
    if answer.status_code != 302 or not location.startswith(base + "/oauth/login"):
        return answer, None
    page = browser.get(location)
    login_id = re.search(r'name="id" value="([^"]+)"', page.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert login_id and csrf, page.text
    return page, LoginPage(browser, login_id.group(1), csrf.group(1), page.text)


def authorize_params(client_id: str, challenge: str, resource: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "state-123",
        "resource": resource,
        **extra,
    }


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == ["state-123"]
    return query["code"][0]


def login_and_get_tokens(
    base: str, resource: str, user: str, password: str, **registration: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Registration, PKCE authorization through the login page, code exchange: (client, tokens)."""
    client = register(base, **registration).json()
    verifier, challenge = pkce()
    _, page = open_login(base, authorize_params(client["client_id"], challenge, resource))
    assert page is not None
    code = code_from(page.submit(user, password))
    tokens = httpx.post(
        base + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": client["client_id"],
            "code_verifier": verifier,
            "resource": resource,
            **({"client_secret": client["client_secret"]} if "client_secret" in client else {}),
        },
    )
    assert tokens.status_code == 200, tokens.text
    return client, tokens.json()

"""Console sign-in: per-user attempt limits shared with the OAuth login page, and sign-out ending the
session on the server (a copied cookie stops working)."""

from __future__ import annotations

import re

from flask import Flask

from api import create_app
from klaviyo_analytics.auth.users import LOGIN_USER_KEY
from tests.actions.action_env import APPROVER_TOKEN, Env
from tests.api.console.conftest import ANALYST_PASSWORD, LEAD_PASSWORD, csrf_token, signed_in

ERROR = re.compile(r'class="error"[^>]*>(.*?)<', re.DOTALL)


def attempt(app: Flask, username: str, password: str) -> tuple[int, str]:
    client = app.test_client()
    page = client.get("/console/sign-in")
    form = {"csrf_token": csrf_token(page.text), "username": username, "password": password}
    answer = client.post("/console/sign-in", data=form)
    found = ERROR.search(answer.text)
    return answer.status_code, found.group(1).strip() if found else ""


def test_a_user_is_locked_after_five_wrong_passwords_even_with_the_right_one(users_env: Env) -> None:
    app = create_app(service=users_env.service)
    wrong = [attempt(app, "lead", f"guess-{n}") for n in range(5)]
    assert [status for status, _ in wrong] == [401] * 5
    locked = attempt(app, "lead", LEAD_PASSWORD)
    assert locked[0] == 429 and "Too many sign-in attempts" in locked[1]
    # Another user from the same address is not locked out by lead's attempts.
    assert signed_in(app, username="analyst", password=ANALYST_PASSWORD).get("/console/queue").status_code == 200


def test_known_and_unknown_users_get_the_same_answers(users_env: Env) -> None:
    app = create_app(service=users_env.service)
    known = [attempt(app, "lead", f"guess-{n}") for n in range(6)]
    unknown = [attempt(app, "nobody-here", f"guess-{n}") for n in range(6)]
    assert known == unknown
    assert known[-1][0] == 429 and known[0][0] == 401


def test_the_console_counts_in_the_oauth_login_pages_budget(users_env: Env) -> None:
    """Four tries on the OAuth login page and one on the console use lead's five, in one shared store."""
    app = create_app(service=users_env.service)
    limit = app.extensions["klaviyo_console_sign_in_limit"]
    for _ in range(4):  # what LoginPages.page counts for each attempt
        limit.limiter.hit(limit.limit, LOGIN_USER_KEY, "lead")
    assert attempt(app, "lead", "guess")[0] == 401
    assert attempt(app, "lead", LEAD_PASSWORD)[0] == 429


def test_sign_out_ends_the_session_on_the_server(app: Flask, env: Env) -> None:
    client = signed_in(app, APPROVER_TOKEN)
    cookie = client.get_cookie("klaviyo_console", path="/console")
    assert cookie is not None
    page = client.get("/console/queue")
    assert page.status_code == 200
    out = client.post("/console/sign-out", data={"csrf_token": csrf_token(page.text)})
    assert out.status_code == 302
    copied = app.test_client()
    copied.set_cookie(cookie.key, cookie.value, path="/console")
    answer = copied.get("/console/queue")
    assert answer.status_code == 302 and "/console/sign-in" in answer.headers["Location"]
    # Another worker (another app on the same store) refuses it too.
    other = create_app(service=env.make_service()).test_client()
    other.set_cookie(cookie.key, cookie.value, path="/console")
    assert other.get("/console/queue").status_code == 302

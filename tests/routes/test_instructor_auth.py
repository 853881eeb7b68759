"""Instructor accounts: sign-in, sessions, CSRF, rate limits, setup link, every route guarded."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.config import Settings
from app.db import open_database
from app.instructors import create_instructor, create_setup_token
from app.models import Instructor, InstructorSession, utc_now
from tests.databases import database_env
from tests.factories import (
    INSTRUCTOR_EMAIL,
    INSTRUCTOR_PASSWORD,
    TOKEN_RE,
    csrf,
    make_instructor,
    post_form,
    sign_in,
    start,
)
from tests.server import running_server

# Routes reachable without an instructor session, by design.
PUBLIC_INSTRUCTOR_ROUTES = {"/instructor/login", "/instructor/logout", "/instructor/setup"}


def session_count(app: FastAPI) -> int:
    with app.state.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(InstructorSession)) or 0)


def test_sign_in_and_out(app: FastAPI, client: TestClient) -> None:
    make_instructor(app)
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/instructor/"
    cookie = response.headers["set-cookie"]
    assert "tfquiz_instructor=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    token = client.cookies["tfquiz_instructor"]
    assert len(token) >= 43  # 256 random bits, url-safe base64
    assert session_count(app) == 1
    out = post_form(client, "/instructor/logout", {}, "/instructor/password")
    assert out.status_code == 303 and session_count(app) == 0
    # The old cookie no longer opens anything, even if a browser kept it.
    client.cookies.set("tfquiz_instructor", token)
    assert client.get("/instructor/password", follow_redirects=False).status_code == 303


def test_wrong_password_and_unknown_account_get_the_same_answer(
    app: FastAPI, client: TestClient
) -> None:
    make_instructor(app)
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, email="nobody@example.org", password="not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "Wrong email or password."
    assert message in wrong.text and message in unknown.text
    assert "tfquiz_instructor" not in client.cookies


def test_sign_in_rotates_the_session_id(app: FastAPI, client: TestClient) -> None:
    make_instructor(app)
    sign_in(client)
    first = client.cookies["tfquiz_instructor"]
    sign_in(client)
    second = client.cookies["tfquiz_instructor"]
    assert first != second and session_count(app) == 1


def test_sessions_expire_when_idle_and_when_old(app: FastAPI, client: TestClient) -> None:
    make_instructor(app)
    sign_in(client)
    assert client.get("/instructor/password").status_code == 200
    with app.state.db.writing() as session:
        session.execute(
            update(InstructorSession).values(last_seen_at=utc_now() - timedelta(hours=3))
        )
    assert client.get("/instructor/password", follow_redirects=False).status_code == 303
    sign_in(client)
    with app.state.db.writing() as session:
        session.execute(
            update(InstructorSession).values(created_at=utc_now() - timedelta(hours=13))
        )
    assert client.get("/instructor/password", follow_redirects=False).status_code == 303


def test_failed_sign_ins_are_rate_limited_per_account(app: FastAPI, client: TestClient) -> None:
    make_instructor(app)
    for _ in range(5):
        assert sign_in(client, password="guess guess guess").status_code == 401
    blocked = sign_in(client)  # even the right password waits now
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    with TestClient(client.app) as other:  # another browser, same account: still limited
        assert sign_in(other).status_code == 429


def sign_in_from(url: str, address: str, password: str) -> httpx.Response:
    """Sign in through the real server's form from a browser at ``address``."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=url, transport=transport, timeout=30) as browser:
        found = TOKEN_RE.search(browser.get("/instructor/login").text)
        assert found, "no CSRF token on the sign-in page"
        data = {"email": INSTRUCTOR_EMAIL, "password": password, "csrf_token": found.group(1)}
        return browser.post("/instructor/login", data=data)


def test_failures_from_one_address_do_not_lock_the_instructor_out(tmp_path: Path) -> None:
    env = database_env()
    with running_server(tmp_path, env=env) as url:
        settings = Settings(data_dir=tmp_path, database_url=env.get("TFQUIZ_DATABASE_URL"))
        database = open_database(settings)
        try:
            with database.writing() as session:
                create_instructor(session, INSTRUCTOR_EMAIL, INSTRUCTOR_PASSWORD)
        finally:
            database.engine.dispose()
        attacker, instructor = "127.0.0.2", "127.0.0.1"
        for _ in range(5):
            assert sign_in_from(url, attacker, "guess guess guess").status_code == 401
        refused = sign_in_from(url, attacker, INSTRUCTOR_PASSWORD)
        assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
        signed = sign_in_from(url, instructor, INSTRUCTOR_PASSWORD)
        assert signed.status_code == 303 and signed.headers["location"] == "/instructor/"


def test_guesses_of_the_current_password_are_limited(app: FastAPI, client: TestClient) -> None:
    make_instructor(app)
    sign_in(client)
    new = {"password": "a brand new secret", "confirm": "a brand new secret"}
    for _ in range(5):
        wrong = post_form(
            client,
            "/instructor/password",
            {**new, "current": "guess guess"},
            "/instructor/password",
        )
        assert wrong.status_code == 422 and "current password is wrong" in wrong.text
    right = {**new, "current": INSTRUCTOR_PASSWORD}
    refused = post_form(client, "/instructor/password", right, "/instructor/password")
    assert refused.status_code == 429 and "Too many wrong passwords" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    with TestClient(client.app, client=("192.0.2.7", 50000)) as elsewhere:
        assert sign_in(elsewhere).status_code == 303  # the password did not change


def test_a_spoofed_forwarded_for_does_not_reset_the_address_limit(
    app: FastAPI, client: TestClient
) -> None:
    for attempt in range(20):
        data = {"email": f"user{attempt}@example.org", "password": "x" * 12}
        headers = {"X-Forwarded-For": f"203.0.113.{attempt}"}
        token = csrf(client, "/instructor/login")
        response = client.post(
            "/instructor/login", data={**data, "csrf_token": token}, headers=headers
        )
        assert response.status_code == 401
    assert sign_in(client, email="fresh@example.org").status_code == 429


def test_sign_in_needs_a_csrf_token(app: FastAPI, client: TestClient) -> None:
    make_instructor(app)
    response = client.post(
        "/instructor/login", data={"email": INSTRUCTOR_EMAIL, "password": INSTRUCTOR_PASSWORD}
    )
    assert response.status_code == 403 and "CSRF" in response.text
    assert session_count(app) == 0


def test_setup_link_creates_the_first_account_once(app: FastAPI, client: TestClient) -> None:
    with app.state.db.writing() as session:
        token = create_setup_token(session, timedelta(minutes=5))
    form = client.get(f"/instructor/setup?token={token}")
    assert form.status_code == 200 and "Create the first instructor account" in form.text
    data = {
        "token": token,
        "email": "first@example.org",
        "password": "a long password",
        "confirm": "a long password",
    }
    created = post_form(client, "/instructor/setup", data, f"/instructor/setup?token={token}")
    assert created.status_code == 303 and "tfquiz_instructor" in client.cookies
    with TestClient(client.app) as other:
        again = other.get(f"/instructor/setup?token={token}")
        assert again.status_code == 403 and "already exists" in again.text
        data["email"] = "second@example.org"
        reuse = post_form(other, "/instructor/setup", data, "/instructor/login")
        assert reuse.status_code == 403
    with app.state.db.reading() as session:
        assert session.scalars(select(Instructor.email)).all() == ["first@example.org"]


@pytest.mark.parametrize("token", ["", "wrong", "x" * 500])
def test_bad_setup_tokens_are_refused(app: FastAPI, client: TestClient, token: str) -> None:
    response = client.get(f"/instructor/setup?token={token}")
    assert response.status_code == 403 and "invalid, used or expired" in response.text


def test_an_expired_setup_token_is_refused(app: FastAPI, client: TestClient) -> None:
    with app.state.db.writing() as session:
        token = create_setup_token(session, timedelta(minutes=-1))
    assert client.get(f"/instructor/setup?token={token}").status_code == 403


def test_password_change_ends_other_sessions(app: FastAPI, client: TestClient) -> None:
    make_instructor(app)
    with TestClient(client.app) as laptop:
        sign_in(laptop)
        sign_in(client)
        data = {
            "current": INSTRUCTOR_PASSWORD,
            "password": "a brand new secret",
            "confirm": "a brand new secret",
        }
        changed = post_form(client, "/instructor/password", data, "/instructor/password")
        assert changed.status_code == 303
        assert client.get("/instructor/password").status_code == 200
        assert laptop.get("/instructor/password", follow_redirects=False).status_code == 303
    assert sign_in(client, password="a brand new secret").status_code == 303


def instructor_routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    """Every instructor page and API route of the app, from its route table."""
    found = []
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if not isinstance(route.original_route, APIRoute):
            continue
        guarded = path.startswith(("/instructor", "/api/instructor"))
        if guarded and path not in PUBLIC_INSTRUCTOR_ROUTES:
            found.append((path, set(route.methods or ())))
    return found


def fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_instructor_route_refuses_anonymous_and_learner_sessions(
    app: FastAPI, client: TestClient
) -> None:
    routes = instructor_routes(app)
    assert routes, "no instructor routes found"
    start(client, "Learner")  # a learner session is no instructor session
    token = csrf(client)
    for path, methods in routes:
        for method in methods:
            response = client.request(
                method, fill(path), data={"csrf_token": token}, follow_redirects=False
            )
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path)
            else:
                assert response.status_code == 303, (method, path)
                assert response.headers["location"].startswith("/instructor/login?next=")


def test_an_email_that_grows_when_lowered_is_refused(app: FastAPI, client: TestClient) -> None:
    with app.state.db.writing() as session:
        token = create_setup_token(session, timedelta(minutes=5))
    email = "\u0130" * 240 + "@example.org"  # 252 characters; lowered, "İ" becomes two
    data = {"token": token, "email": email, "password": "a long password", "confirm": ""}
    data["confirm"] = data["password"]
    refused = post_form(client, "/instructor/setup", data, f"/instructor/setup?token={token}")
    assert refused.status_code == 422 and "does not look valid" in refused.text
    assert session_count(app) == 0

"""Learner identity through the pages: codes, continuing elsewhere, guessing, leaving, names."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.signin_codes import code_bits, new_code
from tests.factories import (
    GOOD_Q3,
    answer_page,
    continue_as,
    count_learners,
    csrf,
    post_form,
    signin_code,
    start,
    start_with_code,
)

COOKIE = "tfquiz_session"


def browser(client: TestClient) -> TestClient:
    """A second browser on the same app, with no cookies."""
    return TestClient(client.app)


def test_a_new_learner_is_shown_a_code_to_keep(client: TestClient) -> None:
    page = start(client, "Ada")
    code = start_with_code(browser(client), "Grace")
    assert page.status_code == 200 and "shown only once" in page.text
    assert len(code.split("-")) == 4 and code_bits() > 51.6
    assert 'id="copy-code"' in page.text
    assert "/continue?name=Ada&amp;code=" in page.text  # the link to bookmark
    assert page.headers["referrer-policy"] == "no-referrer"


def test_name_and_email_do_not_let_a_classmate_in(client: TestClient, session: Session) -> None:
    start_with_code(client, "Bob Victim", "bob@school.example")
    answer_page(client, 3, GOOD_Q3)
    attacker = browser(client)
    page = start(attacker, "Bob Victim", "bob@school.example")
    assert page.status_code == 409 and "already taken" in page.text
    wrong = continue_as(attacker, "Bob Victim", "bob@school.example")
    assert wrong.status_code == 401 and "do not match" in wrong.text
    assert "Start the quiz" in attacker.get("/").text  # still nobody
    assert count_learners(session) == 1


def test_name_and_code_continue_on_another_device(client: TestClient) -> None:
    code = start_with_code(client, "Bob Victim")
    answer_page(client, 3, GOOD_Q3)
    laptop = browser(client)
    response = continue_as(laptop, "bob victim", code)
    assert response.status_code == 303
    home = laptop.get("/")
    assert "Welcome back, Bob Victim." in home.text and "1 of 11 questions answered" in home.text


def test_the_bookmarked_link_fills_the_form_in(client: TestClient) -> None:
    code = start_with_code(client, "Ada")
    page = browser(client).get(f"/continue?name=Ada&code={code}")
    assert f'value="{code}"' in page.text and 'value="Ada"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"


def test_wrong_codes_are_limited_per_name(app: object, client: TestClient) -> None:
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    settings.signin_failures_per_name = 3
    code = start_with_code(client, "Bob Victim")
    for n in range(3):
        # Each guess from another address (the bucket per address must not be what stops it).
        attacker = TestClient(client.app, client=(f"10.0.0.{n + 1}", 50000))
        assert continue_as(attacker, "Bob Victim", new_code()).status_code == 401
    refused = continue_as(TestClient(client.app, client=("10.0.0.9", 5)), "Bob Victim", code)
    assert refused.status_code == 429 and "Too many wrong sign-in codes" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    # Other names are not affected.
    other = start_with_code(browser(client), "Grace")
    assert continue_as(browser(client), "Grace", other).status_code == 303


def test_wrong_codes_are_limited_per_address(client: TestClient) -> None:
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    settings.signin_failures_per_address = 3
    codes = {name: start_with_code(browser(client), name) for name in ("Ann", "Ben")}
    attacker = TestClient(client.app, client=("10.0.0.66", 5000))
    for name in ("Ann", "Ben", "Cy"):  # a different name each time, known or not
        assert continue_as(attacker, name, new_code()).status_code == 401
    refused = continue_as(attacker, "Ann", codes["Ann"])
    assert refused.status_code == 429
    # The real learner, from elsewhere, still gets in.
    assert continue_as(browser(client), "Ann", codes["Ann"]).status_code == 303


def test_leave_ends_the_session_on_the_server(client: TestClient) -> None:
    start_with_code(client, "Ada")
    stolen = browser(client)
    stolen.cookies.set(COOKIE, client.cookies[COOKIE])  # a copy of the cookie
    assert "0 of 11 questions answered" in stolen.get("/").text
    post_form(client, "/leave", {})
    page = stolen.get("/")
    assert "Start the quiz" in page.text and "Your session was ended" in page.text
    refused = post_form(stolen, "/questions/3", {"answer": GOOD_Q3}, "/questions/3")
    assert refused.status_code == 303 and refused.headers["location"].startswith("/?next=")


@pytest.mark.parametrize(
    "look_alike",
    [
        "Bob V\u200bictim",  # a zero-width space
        "Bob V\u0456ctim",  # Cyrillic і
        "B\u043eb Victim",  # Cyrillic о
        "Bob \u202eVictim",  # a right-to-left override
        "BOB VICTIM",  # only case
        "Bob  Victim",  # only spaces
        "Bob Vict\uff49m",  # fullwidth i
    ],
)
def test_a_name_that_looks_like_another_is_refused(
    client: TestClient, session: Session, look_alike: str
) -> None:
    start_with_code(client, "Bob Victim")
    page = start(browser(client), look_alike)
    assert page.status_code == 409, page.text
    assert "already taken" in page.text or "looks the same as another learner" in page.text
    assert count_learners(session) == 1


def test_names_that_only_look_alike_in_part_are_both_kept(client: TestClient) -> None:
    start_with_code(client, "Ali")
    assert start(browser(client), "All").status_code == 200
    assert start(browser(client), "José").status_code == 200
    assert start(browser(client), "Jose").status_code == 200  # an accent is a real difference


def test_an_invisible_character_is_dropped_from_a_new_name(client: TestClient) -> None:
    page = start(client, "Zoe\u200b\u2066 Quinn")
    assert page.status_code == 200 and "Welcome, Zoe Quinn!" in page.text


def old_cookie(client: TestClient, learner_id: int) -> str:
    """Return a session cookie as tfquiz signed them before server-side sessions."""
    import json
    from base64 import b64encode

    from itsdangerous import TimestampSigner

    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    assert settings.secret_key is not None
    data = b64encode(json.dumps({"learner_id": learner_id}).encode())
    return TimestampSigner(settings.secret_key.get_secret_value()).sign(data).decode()


def test_an_old_cookie_gets_a_code_once(client: TestClient) -> None:
    from app.models import Learner

    with client.app.state.db.writing() as db:  # type: ignore[attr-defined]
        old = Learner(display_name="Old Timer", name_key="old timer")  # as before 0010
        db.add(old)
        db.flush()
        learner_id = old.id
    cookie = old_cookie(client, learner_id)
    first, copy = browser(client), browser(client)
    first.cookies.set(COOKIE, cookie)
    copy.cookies.set(COOKIE, cookie)
    offer = first.get("/")
    assert "Welcome back, Old Timer" in offer.text and "Get my sign-in code" in offer.text
    page = post_form(first, "/code", {})
    assert page.status_code == 200 and "shown only once" in page.text
    code = signin_code(page)
    home = first.get("/")
    assert "Old Timer" in home.text and "0 of 11 questions answered" in home.text
    refused = copy.get("/")  # any other copy of the old cookie: name and code from now on
    assert "old sign-in no longer works" in refused.text
    assert "Get my sign-in code" not in refused.text
    assert post_form(copy, "/code", {}).headers["location"] == "/"
    assert continue_as(browser(client), "Old Timer", code).status_code == 303


def test_an_instructor_ends_sessions_and_issues_a_new_code(
    instructor_client: TestClient, session: Session
) -> None:
    from app.learners import find_by_name

    learner = browser(instructor_client)
    old_code = start_with_code(learner, "Bob Victim")
    learner_id = find_by_name(session, "Bob Victim").id  # type: ignore[union-attr]
    detail = instructor_client.get(f"/instructor/learners/{learner_id}")
    assert "End their sessions and issue a new code" in detail.text
    url = f"/instructor/learners/{learner_id}/code"
    page = post_form(instructor_client, url, {}, f"/instructor/learners/{learner_id}")
    assert page.status_code == 200 and "shown only once" in page.text
    new = signin_code(page)
    assert new != old_code
    assert "Your session was ended" in learner.get("/").text  # signed out everywhere
    assert continue_as(browser(instructor_client), "Bob Victim", old_code).status_code == 401
    assert continue_as(browser(instructor_client), "Bob Victim", new).status_code == 303


def test_a_learner_cannot_issue_codes(client: TestClient, session: Session) -> None:
    from app.learners import find_by_name

    code = start_with_code(browser(client), "Bob Victim")
    start_with_code(client, "Eve")
    learner_id = find_by_name(session, "Bob Victim").id  # type: ignore[union-attr]
    refused = post_form(client, f"/instructor/learners/{learner_id}/code", {})
    assert refused.status_code == 303 and "/instructor/login" in refused.headers["location"]
    assert continue_as(browser(client), "Bob Victim", code).status_code == 303


def test_look_alike_sign_ups_racing_leave_one_learner(client: TestClient, session: Session) -> None:
    """Both pass the look-up before either is stored: the unique skeleton refuses one."""
    from concurrent.futures import ThreadPoolExecutor

    names = ["Bob Victim", "Bob V\u0456ctim", "B\u043eb Victim", "Bob V\u200bictim"] * 3
    browsers = [browser(client) for _ in names]
    tokens = [csrf(b) for b in browsers]

    def sign_up(n: int) -> int:
        data = {"name": names[n], "csrf_token": tokens[n]}
        return browsers[n].post("/start", data=data).status_code

    with ThreadPoolExecutor(len(names)) as pool:
        statuses = list(pool.map(sign_up, range(len(names))))
    assert sorted(statuses) == [200] + [409] * (len(names) - 1)
    assert count_learners(session) == 1

"""Class modes through the pages: open, class code and roster decide who may start."""

from __future__ import annotations

import re
from html import escape

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.factories import (
    GOOD_Q3,
    answer_api,
    continue_as,
    count_learners,
    make_instructor,
    post_form,
    sign_in,
    start,
    start_with_code,
)

CODE_RE = re.compile(r'<p class="join-code">([\d ]+)</p>')


def learners(app: FastAPI) -> int:
    """Return how many learners are stored now, read in a transaction of its own."""
    with app.state.db.reading() as session:
        return count_learners(session)


def set_mode(instructor: TestClient, mode: str) -> str | None:
    """Choose the class mode on the class page; return the join code it then shows."""
    saved = post_form(instructor, "/instructor/class", {"mode": mode}, "/instructor/class")
    assert saved.status_code == 303, saved.text
    found = CODE_RE.search(instructor.get("/instructor/class").text)
    return found[1] if found else None


def join(client: TestClient, name: str, code: str = "", email: str = "") -> object:
    """Start through the start form with a class code."""
    return post_form(client, "/start", {"name": name, "email": email, "join_code": code})


def test_the_start_page_is_open_by_default(app: FastAPI, client: TestClient) -> None:
    assert "Class code" not in client.get("/").text
    assert start(client, "Ada").status_code == 200  # the new learner's code page
    assert learners(app) == 1


def test_class_code_mode_refuses_outsiders_and_lets_the_class_in(
    app: FastAPI, instructor_client: TestClient
) -> None:
    code = set_mode(instructor_client, "code")
    assert code is not None and re.fullmatch(r"\d{3} \d{3} \d{3}", code)
    visitor = TestClient(app)
    page = visitor.get("/")
    assert 'name="join_code"' in page.text and "Class code" in page.text

    missing = join(visitor, "Mallory")
    assert missing.status_code == 422
    assert "Enter the class code your instructor shows in class" in missing.text
    wrong = join(visitor, "Mallory", "000 000 000" if code != "000 000 000" else "111 111 111")
    assert wrong.status_code == 422 and "That class code is not right" in wrong.text
    assert 'value="Mallory"' in wrong.text  # what was typed stays in the form
    assert learners(app) == 0

    typed = code.replace(" ", "-")  # read aloud, typed with dashes: still the code
    joined = join(visitor, "Ada", typed)
    assert joined.status_code == 200 and "signin-code" in joined.text  # shown their code
    assert "Ada" in visitor.get("/").text and 'name="join_code"' not in visitor.get("/").text
    assert learners(app) == 1


def test_class_code_mode_keeps_the_api_from_creating_learners(
    app: FastAPI, instructor_client: TestClient
) -> None:
    set_mode(instructor_client, "code")
    refused = answer_api(TestClient(app), 3, GOOD_Q3, learner="Mallory")
    assert refused.status_code == 422
    assert "class code" in refused.json()["detail"]
    assert learners(app) == 0


def test_a_learner_who_joined_continues_without_the_code(
    app: FastAPI, instructor_client: TestClient
) -> None:
    code = start_with_code(TestClient(app), "Grace", "grace@example.org")
    set_mode(instructor_client, "code")
    other_device = TestClient(app)
    assert continue_as(other_device, "Grace", code).status_code == 303
    assert "Welcome back, Grace." in other_device.get("/").text


def test_a_new_class_code_replaces_the_old_one(app: FastAPI, instructor_client: TestClient) -> None:
    old = set_mode(instructor_client, "code")
    renewed = post_form(instructor_client, "/instructor/class/code", {}, "/instructor/class")
    assert renewed.status_code == 303
    page = instructor_client.get("/instructor/class")
    found = CODE_RE.search(page.text)
    assert found and found[1] != old and f"New class code: {found[1]}." in page.text
    visitor = TestClient(app)
    assert old is not None and join(visitor, "Ada", old).status_code == 422
    assert join(visitor, "Ada", found[1]).status_code == 200  # in, and shown their code


def test_the_projected_code_is_shown_large(instructor_client: TestClient) -> None:
    code = set_mode(instructor_client, "code")
    projected = instructor_client.get("/instructor/class/code")
    assert projected.status_code == 200
    assert f'<p class="join-code join-code-large">{code}</p>' in projected.text


def test_switching_back_to_open_lets_anyone_start(
    app: FastAPI, instructor_client: TestClient
) -> None:
    set_mode(instructor_client, "code")
    set_mode(instructor_client, "open")
    assert start(TestClient(app), "Ada").status_code == 200


def test_the_class_mode_form_refuses_bad_input_and_forgery(
    app: FastAPI, instructor_client: TestClient
) -> None:
    bad = post_form(instructor_client, "/instructor/class", {"mode": "everyone"}, "/instructor/")
    assert bad.status_code == 422 and "Choose who may start" in bad.text
    forged = instructor_client.post(
        "/instructor/class", data={"mode": "roster"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert 'value="open" checked' in instructor_client.get("/instructor/class").text
    anonymous = TestClient(app).get("/instructor/class", follow_redirects=False)
    assert anonymous.status_code in (303, 401)


def test_the_start_page_shows_what_the_quiz_holds_in_every_mode(
    app: FastAPI, instructor_client: TestClient
) -> None:
    bank = app.state.bank.ordered()
    for mode in ("open", "code", "roster"):
        set_mode(instructor_client, mode)
        page = TestClient(app).get("/")
        assert "What the quiz holds" in page.text and f"{len(bank)} questions" in page.text
        for question in bank:
            link = f'<a href="/questions/{question.number}">'
            assert link in page.text and escape(question.topic) in page.text
            assert f'<span class="title">{escape(question.title)}</span>' in page.text
        # A phone shows the form first: a link above it leads down to the list.
        assert page.text.index('href="#contents-heading"') < page.text.index('name="name"')
    # Each one is open to read without a name, in the strictest mode too.
    read = TestClient(app).get(f"/questions/{bank[0].number}")
    assert read.status_code == 200 and bank[0].title in read.text


def test_a_refused_start_still_shows_what_the_quiz_holds(
    app: FastAPI, instructor_client: TestClient
) -> None:
    set_mode(instructor_client, "roster")
    refused = start(TestClient(app), "Mallory")
    assert refused.status_code == 422 and "What the quiz holds" in refused.text


def test_guessing_the_class_code_is_limited_per_address(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"start_limit_per_address": 3}))
    try:
        with TestClient(app) as instructor:
            make_instructor(app)
            sign_in(instructor)
            code = set_mode(instructor, "code")
            assert code is not None
            guesser = TestClient(app)
            for guess in ("000000001", "000000002", "000000003"):
                assert join(guesser, "Mallory", guess).status_code == 422
            limited = join(guesser, "Mallory", code)  # even the right code, once limited
            assert limited.status_code == 429 and "Too many sign-ins" in limited.text
            assert learners(app) == 0
    finally:
        app.state.db.engine.dispose()

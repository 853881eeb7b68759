"""Learner pages against a real SQLite file."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Attempt
from tests.factories import (
    GOOD_Q3,
    answer_page,
    continue_as,
    count_attempts,
    count_learners,
    csrf,
    post_form,
    signin_code,
    start,
    start_with_code,
)


def test_new_visitor_sees_the_start_form(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Start the quiz" in page.text and 'name="name"' in page.text


def test_learner_starts_answers_and_sees_feedback(client: TestClient, session: Session) -> None:
    page = start(client, "Ada")
    assert page.status_code == 200 and "Welcome, Ada!" in page.text
    home = client.get("/")
    assert "Ada" in home.text and "0 of 11 questions answered" in home.text

    response = answer_page(client, 3, GOOD_Q3)
    assert response.status_code == 303
    result = client.get(response.headers["location"])
    assert result.status_code == 200
    assert "Excellent" in result.text and "10.0 / 10.0 points" in result.text
    assert '<mark title="matched' in result.text
    assert "Reference answer" in result.text and "InvalidArgumentError" in result.text

    attempt = session.scalars(select(Attempt)).one()
    assert (attempt.question_number, attempt.score, attempt.text) == (3, 1.0, GOOD_Q3)
    assert attempt.breakdown["key_points"][0]["met"] is True
    assert len(attempt.content_hash) == 64


def test_every_attempt_is_kept_and_the_best_counts(client: TestClient, session: Session) -> None:
    start(client)
    answer_page(client, 3, GOOD_Q3)
    answer_page(client, 3, "No, they differ.")
    assert count_attempts(session) == 2
    summary = client.get("/summary")
    assert "10.0 / 10.0" in summary.text and "1 of 11 questions answered" in summary.text
    question = client.get("/questions/3")
    assert question.text.count("/questions/3/attempts/") == 2


def test_returning_learner_sees_their_history(client: TestClient) -> None:
    code = start_with_code(client, "Grace", "grace@example.org")
    answer_page(client, 3, GOOD_Q3)
    post_form(client, "/leave", {})
    assert "Start the quiz" in client.get("/").text
    # Typed as read aloud: another case, spaces between the words.
    assert continue_as(client, "grace", code.upper().replace("-", " ")).status_code == 303
    home = client.get("/")
    assert "Welcome back, Grace." in home.text and "1 of 11 questions answered" in home.text


def test_a_taken_name_is_refused_without_proof(
    app: object, client: TestClient, session: Session
) -> None:
    start(client, "Ada", "ada@example.org")
    answer_page(client, 3, GOOD_Q3)
    with TestClient(client.app) as other:  # a second browser
        page = start(other, "ADA", "ada@example.org")  # the email proves nothing
        assert page.status_code == 409
        assert "already taken" in page.text and "sign-in code" in page.text
        assert "Start the quiz" in other.get("/").text
    assert count_learners(session) == 1


def test_a_learner_cannot_open_another_learners_attempt(client: TestClient) -> None:
    start(client, "Ada")
    location = answer_page(client, 3, GOOD_Q3).headers["location"]
    with TestClient(client.app) as other:
        start(other, "Eve")
        stolen = other.get(location)
        assert stolen.status_code == 404
        assert GOOD_Q3 not in stolen.text


def test_answering_without_a_name_stores_nothing(client: TestClient, session: Session) -> None:
    response = answer_page(client, 3, GOOD_Q3)
    assert response.status_code == 303
    assert response.headers["location"] == "/?next=/questions/3"
    assert "Enter your name before answering." in client.get("/").text
    assert count_attempts(session) == 0


def test_tampered_cookie_is_explained_and_stores_nothing(
    client: TestClient, session: Session
) -> None:
    start(client)
    cookie = client.cookies["tfquiz_session"]
    client.cookies.clear()
    client.cookies.set("tfquiz_session", cookie[:-4] + "AAAA")
    assert "session was not valid" in client.get("/").text
    assert answer_page(client, 3, GOOD_Q3).status_code == 303
    assert count_attempts(session) == 0


def test_bad_answers_get_a_message_and_keep_the_text(client: TestClient, session: Session) -> None:
    start(client)
    cases = {
        "   \n ": "The answer is empty",
        "x" * 10_001: "the limit is 10,000",
        "bell\x07": "control characters",
    }
    for text, message in cases.items():
        page = answer_page(client, 3, text)
        assert page.status_code == 422 and message in page.text
    assert count_attempts(session) == 0


def test_bad_start_forms_get_a_message(client: TestClient, session: Session) -> None:
    assert "Please enter your name." in start(client, "   ").text
    assert "does not look valid" in start(client, "Ada", "not-an-email").text
    assert "too long" in start(client, "A" * 81).text
    assert count_learners(session) == 0


def test_unknown_questions_get_a_clear_404(client: TestClient) -> None:
    for path in ("/questions/12", "/questions/0", "/questions/%2e%2e", "/questions/abc"):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "There is no question" in page.text or "No such page" in page.text
        assert "Traceback" not in page.text


def test_summary_and_redirects_require_a_learner(client: TestClient) -> None:
    response = client.get("/summary", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/?next=/summary"


def test_next_parameter_cannot_leave_the_site(client: TestClient) -> None:
    page = post_form(client, "/start", {"name": "Ada", "next": "//evil.example"})
    assert 'href="/">Go to the questions' in page.text and "evil.example" not in page.text
    code = signin_code(page)
    post_form(client, "/leave", {})
    data = {"name": "Ada", "code": code, "next": "//evil.example"}
    assert post_form(client, "/continue", data, "/continue").headers["location"] == "/"


def test_answer_text_is_escaped_on_the_result_page(client: TestClient) -> None:
    start(client)
    text = "<script>alert(1)</script> No, int32 differs <img src=x onerror=alert(2)>"
    result = client.get(answer_page(client, 3, text).headers["location"])
    assert "<script>alert(1)</script>" not in result.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.text
    assert "<img src=x" not in result.text


def test_a_detected_misconception_offers_the_demo_that_refutes_it(client: TestClient) -> None:
    start(client)
    result = client.get(answer_page(client, 3, "Yes, both are int64.").headers["location"])
    assert "tf.range defaults to int32" in result.text
    assert 'href="#demo-1">Predict what demo 1 prints, then run it.' in result.text
    assert 'id="demo-1"' in result.text and '<details class="demos" id="demos" open>' in result.text


def test_demos_stay_behind_a_spoiler_until_answered(client: TestClient) -> None:
    start(client)
    before = client.get("/questions/3").text
    assert '<details class="demos" id="demos" >' in before and "Spoiler" in before
    answer_page(client, 3, GOOD_Q3)
    after = client.get("/questions/3").text
    assert '<details class="demos" id="demos" open>' in after


def test_forms_without_a_valid_csrf_token_are_refused(client: TestClient, session: Session) -> None:
    start(client)
    missing = client.post("/questions/3", data={"answer": GOOD_Q3})
    forged = client.post("/questions/3", data={"answer": GOOD_Q3, "csrf_token": "forged"})
    for response in (missing, forged):
        assert response.status_code == 403 and "CSRF check failed" in response.text
    with TestClient(client.app) as other:  # another browser's token is no good here either
        token = csrf(other)
    stolen = client.post("/questions/3", data={"answer": GOOD_Q3, "csrf_token": token})
    assert stolen.status_code == 403
    assert count_attempts(session) == 0

"""The JSON API asks for the same proof as the pages: the session cookie, or name and code."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Attempt
from app.signin_codes import new_code
from tests.factories import GOOD_Q3, count_attempts, count_learners, post_form, start_with_code

URL = "/api/questions/3/answers"


def answer(client: TestClient, **body: str | None) -> Any:
    """Send an answer to question 3 with these fields."""
    return client.post(URL, json={"text": GOOD_Q3, **body})


def test_a_new_name_gets_its_code_once(client: TestClient) -> None:
    first = answer(client, learner="Ada").json()
    assert len(first["sign_in_code"].split("-")) == 4
    again = answer(client, learner="Ada").json()
    assert again["sign_in_code"] is None and again["learner"] == "Ada"


def test_name_and_email_are_refused(client: TestClient, session: Session) -> None:
    start_with_code(client, "Bob Victim", "bob@school.example")
    with TestClient(client.app) as attacker:
        refused = answer(attacker, learner="Bob Victim", email="bob@school.example")
        bare = answer(attacker, learner="Bob Victim")
    assert refused.status_code == 422
    assert "not proof" in refused.json()["detail"]
    assert bare.status_code == 403
    assert "sign-in code" in bare.json()["detail"]
    assert count_attempts(session) == 0 and count_learners(session) == 1


def test_name_and_code_answer_as_the_learner(client: TestClient, session: Session) -> None:
    code = start_with_code(client, "Bob Victim")
    with TestClient(client.app) as laptop:
        first = answer(laptop, learner="bob victim", code=code.replace("-", " "))
        second = answer(laptop, learner="Bob Victim")  # the cookie it was given is proof now
    assert first.status_code == second.status_code == 201
    assert first.json()["learner"] == "Bob Victim"
    owners = session.scalars(select(Attempt.learner_id)).all()
    assert len(owners) == 2 and len(set(owners)) == 1 and count_learners(session) == 1


def test_a_wrong_code_is_refused_and_counted(client: TestClient, session: Session) -> None:
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    settings.signin_failures_per_name = 2
    code = start_with_code(client, "Bob Victim")
    with TestClient(client.app) as attacker:
        statuses = [
            answer(attacker, learner="Bob Victim", code=new_code()).status_code for _ in range(2)
        ]
        limited = answer(attacker, learner="Bob Victim", code=code)
    assert statuses == [401, 401]
    assert limited.status_code == 429
    assert "Too many wrong sign-in codes" in limited.json()["detail"]
    assert count_attempts(session) == 0


def test_a_copied_cookie_stops_working_after_leave(client: TestClient) -> None:
    start_with_code(client, "Ada")
    with TestClient(client.app) as copy:
        copy.cookies.set("tfquiz_session", client.cookies["tfquiz_session"])
        assert answer(copy, learner="Ada").status_code == 201
        post_form(client, "/leave", {})
        refused = answer(copy, learner="Ada")
    assert refused.status_code == 403


def test_a_refused_answer_signs_nobody_up(client: TestClient, session: Session) -> None:
    refused = client.post(URL, json={"learner": "Newcomer", "text": "   "})
    assert refused.status_code == 422 and count_learners(session) == 0

"""Helpers that put learners and answers in place through the public surface."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Attempt, Learner

GOOD_Q3 = (
    "No. Both hold the values 0 to 9, but tf.range(10) is int32 while "
    "tf.constant(np.arange(10)) keeps NumPy's int64, so you must tf.cast before adding them."
)


TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: TestClient, page: str = "/") -> str:
    """Return the CSRF token a page's forms carry for this browser."""
    found = TOKEN_RE.search(client.get(page).text)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


def post_form(client: TestClient, url: str, data: dict[str, str], page: str = "/") -> Any:
    """Submit a form as a browser would, with the CSRF token of ``page``."""
    return client.post(url, data={**data, "csrf_token": csrf(client, page)}, follow_redirects=False)


CODE_RE = re.compile(r'<code id="signin-code">([a-z-]+)</code>')


def start(client: TestClient, name: str = "Ada", email: str = "") -> Any:
    """Start as a new learner through the start form; the page shows the sign-in code."""
    return post_form(client, "/start", {"name": name, "email": email})


def signin_code(page: Any) -> str:
    """Return the sign-in code a code page shows."""
    found = CODE_RE.search(page.text)
    assert found, "no sign-in code on the page"
    return found.group(1)


def start_with_code(client: TestClient, name: str = "Ada", email: str = "") -> str:
    """Start as a new learner and return the sign-in code they are shown."""
    page = start(client, name, email)
    assert page.status_code == 200, page.text
    return signin_code(page)


def continue_as(client: TestClient, name: str, code: str) -> Any:
    """Sign in as a returning learner with their name and code."""
    return post_form(client, "/continue", {"name": name, "code": code}, "/continue")


def answer_page(client: TestClient, number: int, text: str) -> Any:
    """Answer through the question page's form."""
    return post_form(client, f"/questions/{number}", {"answer": text}, f"/questions/{number}")


def answer_api(client: TestClient, number: int, text: str, learner: str = "Ada") -> Any:
    """Answer through the JSON API."""
    return client.post(f"/api/questions/{number}/answers", json={"learner": learner, "text": text})


def count_attempts(session: Session) -> int:
    """Return how many attempts are stored."""
    session.expire_all()
    return int(session.scalar(select(func.count(Attempt.id))) or 0)


def count_learners(session: Session) -> int:
    """Return how many learners are stored."""
    session.expire_all()
    return int(session.scalar(select(func.count(Learner.id))) or 0)


INSTRUCTOR_EMAIL = "teacher@example.org"
INSTRUCTOR_PASSWORD = "correct horse battery"


def make_instructor(
    app: Any, email: str = INSTRUCTOR_EMAIL, password: str = INSTRUCTOR_PASSWORD
) -> None:
    """Create an instructor account directly in the database."""
    from app.instructors import create_instructor

    with app.state.db.writing() as session:
        create_instructor(session, email, password)


def sign_in(
    client: TestClient, email: str = INSTRUCTOR_EMAIL, password: str = INSTRUCTOR_PASSWORD
) -> Any:
    """Sign in through the instructor sign-in form."""
    data = {"email": email, "password": password}
    return post_form(client, "/instructor/login", data, "/")


def set_grade(app: Any, attempt_id: int, **columns: Any) -> None:
    """Set an attempt's stored grading columns directly, as another grader would have left them.

    ``score`` also sets the points and, unless given, the counted score; ``needs_review``
    and ``review_reason`` make the answer provisional without depending on which texts the
    grader doubts.
    """
    with app.state.db.writing() as session:
        attempt = session.get_one(Attempt, attempt_id)
        if "score" in columns:
            score = columns["score"]
            columns.setdefault("points", round(score * attempt.max_points, 2))
            columns.setdefault("final_score", score)
            columns.setdefault("final_points", columns["points"])
        for name, value in columns.items():
            setattr(attempt, name, value)

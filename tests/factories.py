"""Helpers that put learners and answers in place through the public surface."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Attempt, Learner

GOOD_Q3 = (
    "No. Both hold the values 0 to 9, but tf.range(10) is int32 while "
    "tf.constant(np.arange(10)) keeps NumPy's int64, so you must tf.cast before adding them."
)


def start(client: TestClient, name: str = "Ada", email: str = "") -> Any:
    """Sign in through the start form."""
    return client.post("/start", data={"name": name, "email": email}, follow_redirects=False)


def answer_page(client: TestClient, number: int, text: str) -> Any:
    """Answer through the question page's form."""
    return client.post(f"/questions/{number}", data={"answer": text}, follow_redirects=False)


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

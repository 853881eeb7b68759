"""The JSON API, including every kind of bad input."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from app.models import Attempt
from tests.databases import on_postgres
from tests.factories import GOOD_Q3, answer_api, count_attempts, count_learners

JSON = {"content-type": "application/json"}


def test_list_questions(client: TestClient) -> None:
    questions = client.get("/api/questions").json()
    assert [q["number"] for q in questions] == list(range(1, 12))
    assert set(questions[0]) == {"number", "id", "title", "topic", "points"}


def test_get_one_question_without_its_answer(client: TestClient) -> None:
    question = client.get("/api/questions/3").json()
    assert "tf.range(10)" in question["prompt_markdown"]
    assert "<code>tf.range(10)</code>" in question["prompt_html"]
    assert question["demos"][0] == {"index": 1, "title": "Compare the two dtypes"}
    assert "reference" not in " ".join(question)


def test_answer_is_graded_and_recorded(client: TestClient, session: Session) -> None:
    response = answer_api(client, 3, GOOD_Q3)
    assert response.status_code == 201
    body = response.json()
    assert body["recorded"] is True and body["score"] == 1.0
    assert (body["points"], body["max_points"], body["question"]) == (10.0, 10.0, 3)
    assert all(point["met"] for point in body["key_points"] if not point["optional"])
    assert body["key_points"][1]["evidence"][0]["text"]
    stored = session.get(Attempt, body["attempt_id"])
    assert stored is not None and stored.text == GOOD_Q3 and stored.score == 1.0


def test_misconception_is_reported(client: TestClient) -> None:
    body = answer_api(client, 3, "Yes, both are int64 tensors.").json()
    assert body["score"] == 0
    assert [m["id"] for m in body["misconceptions"]] == ["same-result"]
    assert "tf.range defaults to int32" in body["feedback"]


def test_name_of_another_learner_is_refused(client: TestClient, session: Session) -> None:
    assert answer_api(client, 3, GOOD_Q3, learner="Ada").status_code == 201
    assert answer_api(client, 3, "again", learner="Ada").status_code == 201  # same cookie
    with TestClient(client.app) as stranger:
        refused = answer_api(stranger, 3, "No", learner="ada")
    assert refused.status_code == 403 and "already taken" in refused.json()["detail"]
    assert count_attempts(session) == 2


def raw_answer(client: TestClient, body: bytes) -> tuple[int, str]:
    """Post raw bytes as a JSON answer; return status and message."""
    response = client.post("/api/questions/3/answers", content=body, headers=JSON)
    return response.status_code, response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"learner": "Ada", "text": "   "}', 422, "The answer is empty"),
        (b'{"learner": "Ada", "text": "' + b"x" * 10_001 + b'"}', 422, "the limit is 10,000"),
        (b'{"learner": "Ada", "text": "a\\u0000b"}', 422, "control characters"),
        (b'{"learner": "Ada", "text": "\\ud800"}', 422, "a lone surrogate"),
        (b'{"learner": "\\udfff", "text": "No"}', 422, "a lone surrogate"),
        (b'{"learner": "Ada", "text": ', 400, "not valid JSON"),
        (b"[1, 2]", 422, "Invalid request"),
        (b'{"text": "No"}', 422, "body.learner: Field required"),
        (b'{"learner": "", "text": "No"}', 422, "Please enter your name"),
        (b'{"learner": "Ada", "text": 5}', 422, "body.text"),
    ],
)
def test_bad_bodies_get_a_clear_message_and_store_nothing(
    client: TestClient, session: Session, body: bytes, status: int, message: str
) -> None:
    found_status, detail = raw_answer(client, body)
    assert found_status == status and message in detail, detail
    assert count_attempts(session) == 0 and count_learners(session) == 0


def test_body_over_one_mebibyte_is_refused(client: TestClient, session: Session) -> None:
    big = b'{"learner": "Ada", "text": "' + b"x" * (1024 * 1024) + b'"}'
    assert raw_answer(client, big) == (413, "The request body is too large; the limit is 1 MiB.")

    def chunks() -> object:
        yield big[: len(big) // 2]
        yield big[len(big) // 2 :]

    streamed = client.post("/api/questions/3/answers", content=chunks(), headers=JSON)
    assert streamed.status_code == 413, streamed.text
    assert "too large" in streamed.json()["detail"]
    assert count_attempts(session) == 0


@pytest.mark.parametrize("path", ["12", "0", "-1", "%2e%2e", "..%2f..%2fsecret", "3.5", "abc"])
def test_unknown_question_identifiers_get_404(client: TestClient, path: str) -> None:
    for response in (
        client.get(f"/api/questions/{path}"),
        client.post(f"/api/questions/{path}/answers", json={"learner": "Ada", "text": "No"}),
    ):
        assert response.status_code == 404, response.text
        assert "no question" in response.json()["detail"].lower()


def test_tampered_cookie_is_refused_and_stores_nothing(
    client: TestClient, session: Session
) -> None:
    client.cookies.set("tfquiz_session", "eyJsZWFybmVyX2lkIjogMX0=.forged.signature")
    response = answer_api(client, 3, GOOD_Q3)
    assert response.status_code == 401 and "not valid" in response.json()["detail"]
    assert count_attempts(session) == 0


def test_openapi_documents_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/questions", "/api/questions/{n}", "/api/questions/{n}/answers"} <= set(paths)
    assert client.get("/docs").status_code == 200


@pytest.mark.skipif(on_postgres(), reason="SQLite's single write lock; PostgreSQL has none")
def test_answer_waiting_past_the_lock_timeout_gets_503_and_stores_nothing(
    tmp_path: Path, settings: Settings, session: Session
) -> None:
    """A writer that outlasts the busy timeout: the learner may retry, nothing half-stored."""
    impatient = settings.model_copy(update={"sqlite_busy_timeout_ms": 50})
    application = create_app(impatient)
    holder = sqlite3.connect(tmp_path / "tfquiz.sqlite3", isolation_level=None)
    try:
        with TestClient(application) as client:
            holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            response = answer_api(client, 3, GOOD_Q3, learner="Blocked")
            holder.execute("ROLLBACK")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "2"
            assert "nothing was saved" in response.json()["detail"]
            assert (count_attempts(session), count_learners(session)) == (0, 0)
            assert answer_api(client, 3, GOOD_Q3, learner="Blocked").status_code == 201
    finally:
        holder.close()
        application.state.db.engine.dispose()


@pytest.mark.skipif(on_postgres(), reason="the writer lock file serves SQLite only")
def test_answer_waiting_past_another_process_writing_gets_503(
    tmp_path: Path, settings: Settings, session: Session
) -> None:
    """Another web process holds the writers' turn past the timeout: 503, nothing stored."""
    application = create_app(settings.model_copy(update={"sqlite_busy_timeout_ms": 50}))
    other_process = os.open(tmp_path / "tfquiz.sqlite3-writer", os.O_RDWR | os.O_CREAT)
    try:
        with TestClient(application) as client:
            fcntl.flock(other_process, fcntl.LOCK_EX)
            response = answer_api(client, 3, GOOD_Q3, learner="Waiting")
            fcntl.flock(other_process, fcntl.LOCK_UN)
            assert (response.status_code, response.headers["retry-after"]) == (503, "2")
            assert "nothing was saved" in response.json()["detail"]
            assert (count_attempts(session), count_learners(session)) == (0, 0)
            assert answer_api(client, 3, GOOD_Q3, learner="Waiting").status_code == 201
    finally:
        os.close(other_process)
        application.state.db.engine.dispose()

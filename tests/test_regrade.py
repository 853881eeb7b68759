"""Re-grading stored attempts: the dry run, kept verdicts, the history, the CLI and the button."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.grading import grade_answer
from app.models import Attempt, AttemptPoint, ScoreChange, utc_now
from app.regrade import regrade
from tests.factories import GOOD_Q3, answer_api, csrf, post_form, set_grade
from tests.test_exports import run_cli

OTHER_Q3 = "No: tf.range(10) is int32 and np.arange(10) is int64."
Q1 = "TensorFlow is a library for numerical computation with tensors, GPUs and autodiff."


def attempt_of(client: TestClient, number: int, text: str, learner: str) -> int:
    """Answer through the API; return the attempt id."""
    response = answer_api(client, number, text, learner)
    assert response.status_code == 201, response.text
    return int(response.json()["attempt_id"])


def age(app: FastAPI, attempt_id: int) -> float:
    """Make an attempt look graded by an older rubric: another score, every point missed."""
    with app.state.db.writing() as session:
        attempt = session.get_one(Attempt, attempt_id)
        old = 0.0 if attempt.score > 0.5 else 1.0
        points = session.scalars(select(AttemptPoint).where(AttemptPoint.attempt_id == attempt_id))
        for row in points:
            row.met = not row.met
    set_grade(app, attempt_id, score=old, needs_review=True, review_reason="old grader")
    return old


def snapshot(session: Session) -> list[Any]:
    """Return everything a re-grade may change, as plain values."""
    session.rollback()
    attempts = session.execute(
        select(
            Attempt.id,
            Attempt.score,
            Attempt.final_score,
            Attempt.breakdown,
            Attempt.needs_review,
            Attempt.question_id,
        ).order_by(Attempt.id)
    ).all()
    points = session.execute(
        select(AttemptPoint.attempt_id, AttemptPoint.point_id, AttemptPoint.met).order_by(
            AttemptPoint.attempt_id, AttemptPoint.point_id
        )
    ).all()
    changes = session.execute(select(ScoreChange.id, ScoreChange.kind)).all()
    return [list(map(tuple, attempts)), list(map(tuple, points)), list(map(tuple, changes))]


@pytest.fixture
def aged(app: FastAPI, instructor_client: TestClient) -> dict[str, int]:
    """Q3: an untouched, an overridden and a reviewed attempt; Q1: one; all graded long ago."""
    ids = {
        "untouched": attempt_of(instructor_client, 3, GOOD_Q3, "Ada"),
        "overridden": attempt_of(instructor_client, 3, OTHER_Q3, "Bea"),
        "reviewed": attempt_of(instructor_client, 3, OTHER_Q3, "Cy"),
        "q1": attempt_of(instructor_client, 1, Q1, "Dan"),
        "orphan": attempt_of(instructor_client, 3, GOOD_Q3, "Eve"),
    }
    for attempt_id in ids.values():
        age(app, attempt_id)
    page = f"/instructor/attempts/{ids['overridden']}"
    data = {"score": "6", "comment": "Judged by hand."}
    assert post_form(instructor_client, page, data, page).status_code == 303
    set_grade(app, ids["reviewed"], reviewed_at=utc_now())
    set_grade(app, ids["orphan"], question_id=str(uuid.uuid4()), question_number=12)
    return ids


def test_a_dry_run_reports_and_changes_nothing(
    app: FastAPI, aged: dict[str, int], session: Session
) -> None:
    before = snapshot(session)
    report = regrade(app.state.db, app.state.bank, dry_run=True)
    assert snapshot(session) == before
    by_number = {q.number: q for q in report.questions}
    assert len(by_number) == 11 and by_number[2].attempts == 0
    q3 = by_number[3]
    assert (q3.attempts, q3.changed, q3.counted, q3.kept) == (3, 3, 1, 2)
    assert q3.largest > 0 and by_number[1].changed == 1
    assert [(s.number, s.attempts) for s in report.skipped] == [(12, 1)]
    assert report.summary() == (
        "Would re-grade 4 attempts of 11 questions: 4 automatic scores would change, "
        "2 counted scores followed, 2 kept by an instructor; skipped 1 attempt of 1 question "
        "no longer in the quiz. Dry run: nothing was changed."
    )


def test_regrade_keeps_instructors_scores_and_records_the_history(
    app: FastAPI, aged: dict[str, int], session: Session
) -> None:
    question = app.state.bank.questions[3]
    report = regrade(app.state.db, app.state.bank, 3)
    assert report.skipped == []  # only asked about question 3
    session.rollback()
    fresh = grade_answer(question, GOOD_Q3)
    untouched = session.get_one(Attempt, aged["untouched"])
    assert (untouched.score, untouched.final_score) == (fresh.score, fresh.score)
    assert untouched.needs_review == fresh.needs_review
    assert untouched.breakdown == fresh.model_dump(mode="json")
    rows = session.execute(
        select(AttemptPoint.point_id, AttemptPoint.met).where(
            AttemptPoint.attempt_id == aged["untouched"]
        )
    ).all()
    assert sorted(rows) == sorted((p.id, p.met) for p in fresh.key_points)
    changes = session.scalars(
        select(ScoreChange).where(ScoreChange.attempt_id == aged["untouched"])
    ).all()
    assert [(c.kind, c.new_score, c.instructor_id) for c in changes] == [
        ("regrade", fresh.score, None)
    ]

    other = grade_answer(question, OTHER_Q3)
    overridden = session.get_one(Attempt, aged["overridden"])
    assert (overridden.score, overridden.final_score, overridden.final_points) == (
        other.score,
        0.6,
        6.0,
    )
    reviewed = session.get_one(Attempt, aged["reviewed"])
    assert reviewed.score == other.score and reviewed.final_score != other.score
    kinds = session.scalars(
        select(ScoreChange.kind).where(
            ScoreChange.attempt_id.in_([aged["overridden"], aged["reviewed"]])
        )
    ).all()
    assert kinds == ["override"]  # no regrade entry where the instructor's score stays
    q1 = session.get_one(Attempt, aged["q1"])
    assert q1.needs_review and q1.review_reason == "old grader"  # question 1 was not asked

    again = regrade(app.state.db, app.state.bank, 3)
    assert again.questions[0].changed == 0 and again.questions[0].counted == 0


def test_the_cli_prints_each_question_and_a_summary(
    aged: dict[str, int], settings: Settings
) -> None:
    dry = run_cli(settings, "regrade", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[2].startswith("Q3   3 attempts: 3 change (")
    assert lines[1] == "Q2   0 attempts: no change"
    assert "Q12  skipped: its question file is gone (1 attempt" in dry.stdout
    assert lines[-1].startswith("Would re-grade 4 attempts") and lines[-1].endswith(
        "Dry run: nothing was changed."
    )
    done = run_cli(settings, "regrade", "--question", "3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "Re-graded 3 attempts of 1 question: 3 automatic scores changed, "
        "1 counted score followed, 2 kept by an instructor."
    )
    missing = run_cli(settings, "regrade", "--question", "42")
    assert missing.returncode == 2 and "There is no question 42." in missing.stderr


def test_the_button_previews_then_regrades(
    app: FastAPI, instructor_client: TestClient, aged: dict[str, int], session: Session
) -> None:
    dashboard = instructor_client.get("/instructor/").text
    assert 'action="/instructor/regrade"' in dashboard
    before = snapshot(session)
    preview = instructor_client.get("/instructor/regrade?question=3")
    assert preview.status_code == 200 and snapshot(session) == before
    assert "Would re-grade 3 attempts of 1 question" in preview.text
    assert "Re-grade question 3 now" in preview.text
    bad = instructor_client.get("/instructor/regrade?question=99")
    assert bad.status_code == 400 and "There is no question 99." in bad.text
    forged = instructor_client.post("/instructor/regrade", data={"question": "3"})
    assert forged.status_code == 403 and snapshot(session) == before

    token = csrf(instructor_client, "/instructor/regrade")
    done = instructor_client.post(
        "/instructor/regrade", data={"question": "3", "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/instructor/regrade?question=3"
    after = instructor_client.get(done.headers["location"]).text
    assert "Re-graded 3 attempts of 1 question: 3 automatic scores changed" in after
    assert "Would re-grade 3 attempts of 1 question: 0 automatic scores would change" in after
    session.rollback()
    change = session.scalars(
        select(ScoreChange).where(ScoreChange.attempt_id == aged["untouched"])
    ).one()
    assert change.kind == "regrade" and change.instructor_id is not None
    history = instructor_client.get(f"/instructor/attempts/{aged['untouched']}").text
    assert "Re-graded" in history and "teacher@example.org" in history


def test_grade_eval_from_db_measures_against_the_instructors_scores(
    aged: dict[str, int], settings: Settings
) -> None:
    # The overridden and the reviewed Q3 attempts are judged; the orphan's question is gone.
    result = run_cli(settings, "grade", "--from-db")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2].startswith("overall: n=2 ")
    assert "instructors' scores" in result.stdout

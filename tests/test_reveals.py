"""What a learner sees before and after the reference answer, provisional scores, practice."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import submissions
from app.config import PROJECT_ROOT
from app.grading import Evidence, GradeResult, PointResult, grade_answer
from app.models import Attempt, ReferenceView
from app.policy import RevealPolicy, save_count_practice, save_reveal_policy
from app.questions import load_folder
from app.reveals import PROVISIONAL, learner_view
from app.schema import Question
from tests.factories import answer_api, answer_page, start

BANK = load_folder(PROJECT_ROOT / "questions")
Q1, Q3 = BANK.questions[1], BANK.questions[3]
PARTIAL_Q3 = "No, they are different: tf.range(10) gives int32, so you cannot add them."
HINT = "Think about what happens when you add the two tensors."
REFERENCE_Q1 = Q1.reference_markdown  # meets every key point of Q1
JUNK = "I do not know."
BADGE = '<span class="badge badge-high">'


def missed_and_met(question: Question, text: str) -> tuple[list[str], list[str], int]:
    """Return the texts of the points an answer misses and meets, and how many required missed."""
    points = grade_answer(question, text).key_points
    missed = [p.text for p in points if not p.met]
    required = sum(1 for p in points if not p.met and not p.optional)
    assert required and len(missed) < len(points), "the answer must be partly right"
    return missed, [p.text for p in points if p.met], required


def verdict(question: Question, text: str) -> str:
    """Return the grader's verdict on an answer: its feedback's first sentence."""
    return grade_answer(question, text).feedback.split(". ")[0]


def shown(text: str, page: str) -> bool:
    """Tell whether a text appears in a page, as its template escapes it."""
    return str(escape(text)) in page


def percent(question: Question, text: str) -> str:
    """Return an answer's score as its badge shows it."""
    return f"{round(grade_answer(question, text).score * 100)}%"


def set_policy(app: FastAPI, policy: RevealPolicy) -> None:
    """Store the reveal policy, as the instructor's settings form does."""
    with app.state.db.writing() as session:
        save_reveal_policy(session, policy)


def count_practice(app: FastAPI, value: bool) -> None:
    """Store the course's count-practice setting."""
    with app.state.db.writing() as session:
        save_count_practice(session, value)


def with_hints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Grade as the grader does, giving each missed key point a hint."""

    def graded(question: Question, text: str) -> GradeResult:
        result = grade_answer(question, text)
        for point in result.key_points:
            point.hint = "" if point.met else HINT
        return result

    monkeypatch.setattr(submissions, "grade_answer", graded)


def flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Grade as the grader does, with the result flagged for an instructor's review."""

    def graded(question: Question, text: str) -> GradeResult:
        result = grade_answer(question, text)
        result.needs_review, result.review_reason = True, "The grader could not read it."
        return result

    monkeypatch.setattr(submissions, "grade_answer", graded)


def result_page(client: TestClient, number: int, text: str) -> str:
    """Answer through the page and return the result page's text."""
    response = answer_page(client, number, text)
    assert response.status_code == 303, response.text
    return text_of(client.get(response.headers["location"]).text)


def text_of(html: str) -> str:
    """Collapse a page's white space, so phrases split across lines are found."""
    return re.sub(r"\s+", " ", html)


def attempts(session: Session) -> list[Attempt]:
    """Return every stored attempt, oldest first."""
    session.expire_all()
    return list(session.scalars(select(Attempt).order_by(Attempt.id)))


def test_missed_texts_wait_for_the_reveal_on_the_page(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    missed, met, required = missed_and_met(Q3, PARTIAL_Q3)
    count = f"{required} key point{'s' if required != 1 else ''} missed"
    set_policy(app, RevealPolicy(mode="after", after=3))
    with_hints(monkeypatch)
    start(client)
    first = answer_page(client, 3, PARTIAL_Q3).headers["location"]
    page = text_of(client.get(first).text)
    assert not any(shown(text, page) for text in missed)
    hidden_ids = [p.id for p in grade_answer(Q3, PARTIAL_Q3).key_points if not p.met]
    assert not any(f'id="point-{ident}"' in page for ident in hidden_ids)  # ids name them too
    assert all(shown(text, page) for text in met)  # met points keep their text and evidence
    assert f"{count}: {'its text appears' if required == 1 else 'their texts appear'}" in page
    assert page.count(f"Hint: {HINT}") == len(missed)
    assert verdict(Q3, PARTIAL_Q3) in page and "appears after 3 attempts" in page
    answer_page(client, 3, PARTIAL_Q3)
    answer_page(client, 3, PARTIAL_Q3)
    page = text_of(client.get(first).text)
    assert all(shown(text, page) for text in missed + met) and f"{count}." in page
    assert page.count(f"Hint: {HINT}") == len(missed)


def test_missed_texts_wait_for_the_reveal_in_the_api(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    missed, met, required = missed_and_met(Q3, PARTIAL_Q3)
    set_policy(app, RevealPolicy(mode="released"))
    with_hints(monkeypatch)
    body = answer_api(client, 3, PARTIAL_Q3).json()
    assert body["revealed"] is False and body["missed"] == required
    assert not any(text.rstrip(".") in str(body) for text in missed)
    hidden = [p for p in body["key_points"] if not p["met"]]
    assert [(p["id"], p["text"], p["hint"], p["evidence"]) for p in hidden] == [
        (None, None, HINT, [])
    ] * len(missed)
    assert [p["text"] for p in body["key_points"] if p["met"]] == met
    assert body["feedback"].startswith(verdict(Q3, PARTIAL_Q3))
    set_policy(app, RevealPolicy(mode="released", released=True))
    body = answer_api(client, 3, PARTIAL_Q3).json()
    assert body["revealed"] is True and body["missed"] == required
    assert [p["text"] for p in body["key_points"] if not p["met"]] == missed


def gradebook_row(instructor: TestClient, name: str) -> list[str]:
    """Return a learner's row of the gradebook CSV."""
    rows = csv.reader(io.StringIO(instructor.get("/instructor/export/scores.csv").text))
    return next(row for row in rows if row[0] == name)


def test_pasting_the_revealed_reference_is_practice(
    app: FastAPI, instructor_client: TestClient, session: Session
) -> None:
    with TestClient(app) as learner:
        start(learner, "Pat")
        junk = result_page(learner, 1, JUNK)
        assert "Reference answer" in junk and "Practice" not in junk
        pasted = result_page(learner, 1, REFERENCE_Q1)
        assert percent(Q1, REFERENCE_Q1) in pasted  # graded and shown
        assert (
            "Practice: this attempt does not count, because you had seen the reference answer."
            in pasted
        )
        assert [a.practice for a in attempts(session)] == [False, True]
        summary = text_of(learner.get("/summary").text)
        assert "0.0 / 10.0" in summary and "<strong>0.0 / 110.0</strong>" in summary
        home = text_of(learner.get("/").text)
        assert '0%</span> <span class="muted">2 attempts' in home
        row = gradebook_row(instructor_client, "Pat")
        assert row[2] == "0" and row[13] == "0"  # Q1 and the total leave the practice out
        count_practice(app, True)
        summary = text_of(learner.get("/summary").text)
        assert "10.0 / 10.0" in summary and "<strong>10.0 / 110.0</strong>" in summary
        again = text_of(learner.get(f"/questions/1/attempts/{attempts(session)[1].id}").text)
        assert "this course counts practice attempts" in again
        row = gradebook_row(instructor_client, "Pat")
        assert row[2] == "10" and row[13] == "10"


def test_exports_mark_practice_attempts(
    app: FastAPI, instructor_client: TestClient, session: Session
) -> None:
    with TestClient(app) as learner:
        start(learner, "Pat")
        result_page(learner, 1, JUNK)
        result_page(learner, 1, REFERENCE_Q1)
    as_csv = instructor_client.get("/instructor/export/attempts.csv").text
    assert [row["practice"] for row in csv.DictReader(io.StringIO(as_csv))] == ["false", "true"]
    records = instructor_client.get("/instructor/export/attempts.json").json()
    assert [record["practice"] for record in records] == [False, True]


def test_an_unseen_reference_leaves_the_next_attempt_counted(
    client: TestClient, session: Session
) -> None:
    start(client)
    answer_page(client, 1, JUNK)  # the result page, and its reference, never shown
    answer_page(client, 1, REFERENCE_Q1)
    assert [a.practice for a in attempts(session)] == [False, False]
    assert session.scalars(select(ReferenceView)).all() == []


def test_an_api_answer_that_reveals_makes_the_next_one_practice(
    client: TestClient, session: Session
) -> None:
    first = answer_api(client, 1, JUNK).json()
    assert first["revealed"] is True and first["practice"] is False and first["counted"] is True
    second = answer_api(client, 1, REFERENCE_Q1).json()
    assert second["score"] == 1.0 and second["practice"] is True and second["counted"] is False
    assert [a.practice for a in attempts(session)] == [False, True]


def test_a_provisional_score_says_so_until_settled(
    app: FastAPI, client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    flagged(monkeypatch)
    start(client)
    confident = verdict(Q1, REFERENCE_Q1)
    page = result_page(client, 1, REFERENCE_Q1)
    assert PROVISIONAL in page and f"Provisional score: {BADGE}{percent(Q1, REFERENCE_Q1)}" in page
    assert "Excellent" not in page and confident not in page
    assert 'label-provisional">provisional' in text_of(client.get("/").text)
    assert 'label-provisional">provisional' in text_of(client.get("/summary").text)
    body = answer_api(client, 1, REFERENCE_Q1, learner="Ada").json()
    assert body["provisional"] is True and body["feedback"].startswith(PROVISIONAL)
    assert confident not in body["feedback"]
    with app.state.db.writing() as writer:  # as the instructor's review queue settles them
        for attempt in writer.scalars(select(Attempt)):
            attempt.reviewed_at = datetime.now(UTC)
    page = text_of(client.get(f"/questions/1/attempts/{attempts(session)[0].id}").text)
    assert PROVISIONAL not in page and confident in page and "Your score:" in page
    assert "provisional" not in text_of(client.get("/summary").text)


def point(ident: str, met: bool, optional: bool = False) -> PointResult:
    """Return a graded key point; a met one with a span of evidence."""
    evidence = [Evidence(start=0, end=2, text="No", phrase="no")] if met else []
    return PointResult(
        id=ident,
        text=f"The text of {ident}.",
        weight=1,
        met=met,
        evidence=evidence,
        contradicted_by=[],
        voided_by=[],
        optional=optional,
        hint=f"A hint for {ident}.",
    )


def result(*points: PointResult, feedback: str, **fields: Any) -> GradeResult:
    """Return a grading result with the given key points and feedback."""
    return GradeResult(
        question=3,
        score=0.5,
        points=5.0,
        max_points=10.0,
        feedback=feedback,
        key_points=list(points),
        misconceptions=[],
        keyword_list=False,
        **fields,
    )


CORRECTION = "The dtypes are not the same. Run the demo to see both dtypes."
OLD_FEEDBACK = (  # as attempts graded before the reveal rule name their missed points
    f"Partly right: some key points are missing. Missed: The text of b; The text of c. {CORRECTION}"
)


def test_the_learner_view_hides_only_missed_texts() -> None:
    graded = result(point("a", True), point("b", False), point("c", False), feedback=OLD_FEEDBACK)
    hidden = learner_view(graded, revealed=False)
    assert [p.text for p in hidden.key_points] == ["The text of a.", None, None]
    assert [p.id for p in hidden.key_points] == ["a", None, None]
    assert [p.hint for p in hidden.key_points][1:] == ["A hint for b.", "A hint for c."]
    assert hidden.key_points[0].evidence == graded.key_points[0].evidence
    assert hidden.missed == 2 and not hidden.revealed
    assert "The text of b" not in hidden.model_dump_json()
    assert hidden.feedback == f"Partly right: some key points are missing. {CORRECTION}"
    revealed = learner_view(graded, revealed=True)
    assert [p.text for p in revealed.key_points] == [p.text for p in graded.key_points]
    assert revealed.feedback == OLD_FEEDBACK and revealed.missed == 2


def test_a_missed_text_in_any_sentence_is_withheld() -> None:
    graded = result(point("a", False), feedback=f"Good. Add The text of a to it. {CORRECTION}")
    assert learner_view(graded, revealed=False).feedback == f"Good. {CORRECTION}"


def test_optional_points_do_not_count_as_missed() -> None:
    graded = result(point("a", True), point("b", False), point("c", False, True), feedback="Ok.")
    view = learner_view(graded, revealed=False)
    assert view.missed == 1 and view.key_points[2].hidden


def test_a_provisional_view_replaces_the_verdict() -> None:
    graded = result(point("a", True), feedback=f"Excellent: you covered it. {CORRECTION}")
    view = learner_view(graded, revealed=True, provisional=True)
    assert view.feedback == f"{PROVISIONAL} {CORRECTION}" and view.score == 0.5
    alone = learner_view(result(point("a", True), feedback="Excellent."), True, provisional=True)
    assert alone.feedback == PROVISIONAL


def test_practice_and_counted_pass_through() -> None:
    view = learner_view(result(feedback="Ok."), True, practice=True, counted=False)
    assert view.practice and not view.counted and view.missed == 0

"""The review queue and group review, through the instructor's pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Attempt, Instructor, ScoreChange, utc_now
from tests.factories import answer_api, post_form, set_grade

QUEUE = "/instructor/review"
GROUPS = "/instructor/questions/1/groups"


def provisional(app: FastAPI, text: str, learner: str, reason: str, score: float = 0.4) -> int:
    """Store an answer to Q3 whose grade is provisional; return its attempt id."""
    response = answer_api(TestClient(app), 3, text, learner)
    assert response.status_code == 201, response.text
    attempt_id = int(response.json()["attempt_id"])
    set_grade(app, attempt_id, score=score, needs_review=True, review_reason=reason)
    return attempt_id


def stored(session: Session, attempt_id: int) -> tuple[Attempt, list[ScoreChange]]:
    """Return an attempt and its score changes as committed now."""
    session.rollback()
    attempt = session.get_one(Attempt, attempt_id)
    changes = select(ScoreChange).where(ScoreChange.attempt_id == attempt_id)
    return attempt, list(session.scalars(changes.order_by(ScoreChange.id)))


def decide(
    client: TestClient, attempt_id: int, decision: str, score: str = "", comment: str = ""
) -> Any:
    """Submit one queue item's form."""
    data = {"decision": decision, "score": score, "comment": comment}
    return post_form(client, f"{QUEUE}/{attempt_id}", data, QUEUE)


@pytest.fixture
def queued(app: FastAPI, instructor_client: TestClient) -> list[int]:
    """Three provisional answers, the second made earliest; one confident answer."""
    first = provisional(app, "Nein, int32 und int64.", "Ada", "not in English")
    second = provisional(app, "asdf qwer zxcv", "Bea", "cannot read the answer")
    third = provisional(app, "Both are int32, the same tensor.", "Cy", "signals disagree", 0.6)
    with app.state.db.writing() as session:
        earliest = session.get_one(Attempt, first).created_at - timedelta(minutes=5)
        session.get_one(Attempt, second).created_at = earliest
    answer_api(instructor_client, 3, "A confident answer.", "Dan")
    return [second, first, third]


def test_queue_lists_provisional_answers_oldest_first(
    instructor_client: TestClient, queued: list[int]
) -> None:
    page = instructor_client.get(QUEUE)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    shown = [
        int(i)
        for i in re.findall(
            r'<article class="card claim" aria-labelledby="review-(\d+)"', page.text
        )
    ]
    assert shown == queued
    for text in (
        "Waiting for review (3)",
        "Bea · question 3",
        "asdf qwer zxcv",
        "cannot read the answer",
    ):
        assert text in page.text, text
    assert "4 / 10 points" in page.text and "Dan" not in page.text
    assert 'href="/instructor/review">Review</a>' in page.text  # in the navigation
    dashboard = re.sub(r"\s+", " ", instructor_client.get("/instructor/").text)
    assert "<dt>Waiting for review</dt><dd>3</dd>" in dashboard
    assert 'href="/instructor/review">Review queue (3)</a>' in dashboard


def test_accept_keeps_the_score_settles_and_leaves_a_labelled_history(
    app: FastAPI, instructor_client: TestClient, queued: list[int], session: Session
) -> None:
    attempt_id = queued[0]
    response = decide(instructor_client, attempt_id, "accept")
    assert response.status_code == 303 and response.headers["location"] == QUEUE
    assert (
        f"Attempt {attempt_id} reviewed: score kept at 4 points."
        in instructor_client.get(QUEUE).text
    )
    attempt, changes = stored(session, attempt_id)
    instructor = session.scalars(select(Instructor)).one()
    assert attempt.reviewed_at is not None and attempt.reviewed_by == instructor.id
    assert (attempt.final_score, attempt.final_points) == (0.4, 4.0)
    assert [(c.kind, c.old_score, c.new_score, c.instructor_id) for c in changes] == [
        ("review", 0.4, 0.4, instructor.id)
    ]
    page = instructor_client.get(QUEUE).text
    assert "Waiting for review (2)" in page and f'aria-labelledby="review-{attempt_id}"' not in page
    history = instructor_client.get(f"/instructor/attempts/{attempt_id}").text
    assert "Reviewed" in history and "4 → 4" in history and "Provisional" not in history


def test_change_sets_the_score_with_a_comment(
    instructor_client: TestClient, queued: list[int], session: Session
) -> None:
    attempt_id = queued[1]
    response = decide(instructor_client, attempt_id, "change", "7,5", "Right, in German.")
    assert response.status_code == 303
    attempt, changes = stored(session, attempt_id)
    assert (attempt.score, attempt.final_score, attempt.final_points) == (0.4, 0.75, 7.5)
    assert attempt.override_comment == "Right, in German." and attempt.reviewed_at is not None
    assert [(c.kind, c.old_score, c.new_score, c.comment) for c in changes] == [
        ("review", 0.4, 0.75, "Right, in German.")
    ]


@pytest.mark.parametrize(
    ("decision", "score", "comment", "message"),
    [
        ("change", "11", "too high", "The score cannot exceed the question&#39;s 10 points."),
        ("change", "-1", "too low", "The score cannot be negative"),
        ("change", "", "no score", "Enter the score in points, from 0 to 10."),
        ("change", "8", "  ", "Write a comment that explains the change"),
        ("maybe", "8", "what", "Choose Accept or Change score."),
        ("accept", "", "bell\x07", "The comment contains control characters"),
    ],
)
def test_bad_input_explains_and_changes_nothing(
    instructor_client: TestClient,
    queued: list[int],
    session: Session,
    decision: str,
    score: str,
    comment: str,
    message: str,
) -> None:
    attempt_id = queued[0]
    response = decide(instructor_client, attempt_id, decision, score, comment)
    assert response.status_code == 422 and message in response.text
    assert f'role="alert" id="review-error-{attempt_id}"' in response.text
    attempt, changes = stored(session, attempt_id)
    assert attempt.reviewed_at is None and attempt.final_score == 0.4 and changes == []


def test_unknown_settled_and_confident_attempts_are_refused(
    app: FastAPI, instructor_client: TestClient, queued: list[int], session: Session
) -> None:
    missing = decide(instructor_client, 999, "accept")
    assert missing.status_code == 404 and "There is no attempt 999." in missing.text
    assert decide(instructor_client, queued[0], "accept").status_code == 303
    again = decide(instructor_client, queued[0], "change", "9", "second thoughts")
    assert again.status_code == 422 and "was already reviewed; nothing was changed" in again.text
    attempt, changes = stored(session, queued[0])
    assert attempt.final_score == 0.4 and len(changes) == 1
    confident = session.scalars(select(Attempt.id).where(Attempt.needs_review.is_(False))).one()
    refused = decide(instructor_client, confident, "accept")
    assert refused.status_code == 422 and "is not waiting for review" in refused.text
    assert stored(session, confident)[1] == []


def test_forms_need_the_csrf_token(instructor_client: TestClient, queued: list[int]) -> None:
    forged = instructor_client.post(f"{QUEUE}/{queued[0]}", data={"decision": "accept"})
    assert forged.status_code == 403


def test_an_override_on_the_attempt_page_settles_it_too(
    instructor_client: TestClient, queued: list[int], session: Session
) -> None:
    page = f"/instructor/attempts/{queued[2]}"
    assert "Provisional: this score waits in the" in instructor_client.get(page).text
    post_form(instructor_client, page, {"score": "2", "comment": "Wrong dtype."}, page)
    attempt, _ = stored(session, queued[2])
    assert attempt.reviewed_at is not None
    assert "Waiting for review (2)" in instructor_client.get(QUEUE).text


EAGER = [
    ("Ada", "It relies on eager execution, I think."),
    ("Bea", "Eager execution runs ops at once."),
    ("Cy", "Something about eager execution and session objects."),
    ("Dan", "Session objects, mostly."),
]


@pytest.fixture
def low(app: FastAPI, instructor_client: TestClient) -> list[int]:
    """Four low-scoring answers to Q1, three sharing "eager execution"; then one judged."""
    ids = []
    for name, text in EAGER:
        response = answer_api(instructor_client, 1, text, name)
        ids.append(int(response.json()["attempt_id"]))
        set_grade(app, ids[-1], score=0.1, breakdown={"key_points": []})
    judged = answer_api(instructor_client, 1, "Eager execution everywhere.", "Eve")
    judged_id = int(judged.json()["attempt_id"])
    set_grade(app, judged_id, score=0.2, reviewed_at=utc_now())
    return [*ids, judged_id]


def group_form(
    client: TestClient, ids: list[int], decision: str, score: str = "", comment: str = ""
) -> Any:
    """Submit a group's form with the given attempts."""
    data: dict[str, Any] = {
        "decision": decision,
        "score": score,
        "comment": comment,
        "phrase": "eager execution",
    }
    data["attempt"] = [str(i) for i in ids]
    return post_form(client, GROUPS, data, GROUPS)


def test_groups_show_answers_sharing_an_unmatched_phrase(
    instructor_client: TestClient, low: list[int]
) -> None:
    page = instructor_client.get(GROUPS)
    assert page.status_code == 200
    assert "3 answers say “eager execution”" in page.text
    assert "2 answers say “session objects”" in page.text
    assert "4 answers to" in page.text  # the judged one is left out
    assert "Eager execution everywhere." not in page.text
    linked = instructor_client.get("/instructor/questions/1").text
    assert 'href="/instructor/questions/1/groups"' in linked


def test_a_group_is_accepted_or_scored_at_once(
    instructor_client: TestClient, low: list[int], session: Session
) -> None:
    eager = low[:3]
    accepted = group_form(instructor_client, eager, "accept")
    assert accepted.status_code == 303
    assert "3 answers reviewed: kept." in instructor_client.get(GROUPS).text
    for attempt_id in eager:
        attempt, changes = stored(session, attempt_id)
        assert attempt.reviewed_at is not None
        assert [(c.kind, c.old_score, c.new_score) for c in changes] == [("review", 0.1, 0.1)]
    assert "answers say “eager execution”" not in instructor_client.get(GROUPS).text
    scored = group_form(instructor_client, [low[3]], "change", "5", "Sessions are TF1.")
    assert scored.status_code == 303
    attempt, changes = stored(session, low[3])
    assert attempt.final_points == 5.0 and changes[0].comment == "Sessions are TF1."


def test_a_bad_or_stale_group_form_changes_nothing(
    instructor_client: TestClient, low: list[int], session: Session
) -> None:
    no_comment = group_form(instructor_client, low[:3], "change", "5", "")
    assert no_comment.status_code == 422 and "Write a comment" in no_comment.text
    stale = group_form(instructor_client, [*low[:3], low[4]], "accept")  # Eve's was judged
    assert stale.status_code == 422 and "already reviewed since the page was shown" in stale.text
    unknown = group_form(instructor_client, [*low[:2], 999], "accept")
    assert unknown.status_code == 422 and "There is no attempt 999" in unknown.text
    other = answer_api(instructor_client, 3, "A Q3 answer.", "Fay").json()["attempt_id"]
    mixed = group_form(instructor_client, [low[0], int(other)], "accept")
    assert mixed.status_code == 422 and "answers another question" in mixed.text
    for attempt_id in low[:4]:
        attempt, changes = stored(session, attempt_id)
        assert attempt.reviewed_at is None and changes == []

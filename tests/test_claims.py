"""The checks behind learners' claims, as pure functions."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app.claims import claims_for_attempt, clean_justification, decide_claim, submit_claim
from app.models import Attempt, ChangeKind, Instructor, Learner, ScoreChange
from app.validation import InvalidText


def test_justifications_are_one_short_line() -> None:
    assert clean_justification("  I said both hold 0..9.  ") == "I said both hold 0..9."
    assert len(clean_justification("é" * 200)) == 200
    for bad, message in [
        ("", "Write one line"),
        ("x" * 201, "201 characters long; the limit is 200"),
        ("one\ntwo", "single line"),
        ("bell\x07", "control characters"),
        ("sep\u2028arator", "single line"),
    ]:
        with pytest.raises(InvalidText, match=message):
            clean_justification(bad)


def test_a_decision_points_to_the_score_change_it_left(session: Session) -> None:
    learner = Learner(display_name="Ada", name_key="ada")
    instructor = Instructor(email="ian@example.org", password_hash="x")
    session.add_all([learner, instructor])
    session.flush()
    point = {
        "id": "cast",
        "text": "Cast first.",
        "weight": 1,
        "met": False,
        "evidence": [],
        "contradicted_by": [],
        "voided_by": [],
    }
    result = {
        "question": 3,
        "score": 0.5,
        "points": 5.0,
        "max_points": 10.0,
        "feedback": "",
        "key_points": [{**point, "id": "dtypes", "met": True}, point],
        "misconceptions": [],
        "keyword_list": False,
    }
    attempt = Attempt(
        learner_id=learner.id,
        question_id="q",
        question_number=3,
        content_hash="h",
        text="t",
        score=0.5,
        points=5.0,
        max_points=10.0,
        breakdown=result,
        final_score=0.5,
        final_points=5.0,
    )
    session.add(attempt)
    session.flush()
    claim = submit_claim(session, attempt, "cast", "I said to cast.")
    session.flush()
    decide_claim(session, claim, instructor.id, True, "Fair.")
    session.flush()
    change = session.get_one(ScoreChange, claim.score_change_id)
    assert (change.kind, change.old_score, change.new_score) == (ChangeKind.CLAIM, 0.5, 1.0)
    assert change.comment == "Fair." and change.created_at == claim.decided_at
    assert (attempt.final_score, attempt.final_points) == (1.0, 10.0)
    # Another change at the very same time no longer steals the claim's note.
    session.add(
        ScoreChange(
            attempt_id=attempt.id,
            kind=ChangeKind.OVERRIDE,
            old_score=1.0,
            new_score=1.0,
            comment="Other.",
            created_at=change.created_at,
        )
    )
    session.flush()
    assert claims_for_attempt(session, attempt)["cast"].note == "Fair."

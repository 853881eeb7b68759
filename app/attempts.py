"""Record graded answers and read a learner's progress back, aggregated in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    SQLColumnExpression,
    and_,
    case,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session

from app.evidence import PointEvidence, point_evidence, stored_result
from app.grading import GradeResult
from app.lti.outbox import score_changed
from app.models import Attempt, AttemptMisconception, AttemptPoint, Learner
from app.policy import get_count_practice
from app.schema import Question


@dataclass(frozen=True, slots=True)
class Progress:
    """A learner's standing on one question."""

    attempts: int
    best_score: float
    best_points: float
    # The best counted score is a grader's guess that an instructor has not settled yet.
    provisional: bool = False


@dataclass(frozen=True, slots=True)
class ListedAnswer:
    """An attempt as instructors' lists show it: who answered which question, when, and why."""

    attempt_id: int
    learner: str
    question_number: int
    answer: str
    created_at: datetime
    evidence: list[PointEvidence]

    @classmethod
    def of(cls, attempt: Attempt, learner: str, **extra: Any) -> Self:
        """List an attempt, so every list shows it alike; a subclass's own fields go in extra."""
        evidence = point_evidence(stored_result(attempt))
        return cls(
            attempt.id,
            learner,
            attempt.question_number,
            attempt.text,
            attempt.created_at,
            evidence,
            **extra,
        )


def record_attempt(
    session: Session,
    learner_id: int,
    question: Question,
    text: str,
    result: GradeResult,
    idempotency_key: str | None = None,
    practice: bool = False,
) -> Attempt:
    """Add a graded answer to the session; the caller commits."""
    attempt = Attempt(
        learner_id=learner_id,
        question_id=str(question.id),
        question_number=question.number,
        text=text,
        idempotency_key=idempotency_key,
        practice=practice,
    )
    write_grade(attempt, question, result, as_counted=True)
    session.add(attempt)
    session.flush()
    score_changed(session, learner_id, attempt.question_id)  # LTI: queued for the LMS
    insert_result_rows(session, [(attempt, result)])
    return attempt


def write_grade(
    attempt: Attempt, question: Question, result: GradeResult, as_counted: bool
) -> None:
    """Store a grade on an attempt, and as its counted score unless an instructor's stands."""
    attempt.score, attempt.points = result.score, result.points
    attempt.max_points = result.max_points
    attempt.breakdown = result.model_dump(mode="json")
    attempt.content_hash = question.content_hash
    attempt.confidence = result.confidence
    attempt.needs_review, attempt.review_reason = result.needs_review, result.review_reason
    if as_counted:
        attempt.final_score, attempt.final_points = result.score, result.points


def counted(column: SQLColumnExpression[float], count_practice: bool) -> SQLColumnExpression[float]:
    """Return an attempt's value for the best counted score: null for uncounted practice."""
    return column if count_practice else case((Attempt.practice.is_(False), column))


def provisional() -> ColumnElement[bool]:
    """Return the condition of a score awaiting review: flagged, neither settled nor overridden.

    ``is_provisional`` says the same of one attempt.
    """
    return and_(
        Attempt.needs_review.is_(True),
        Attempt.reviewed_at.is_(None),
        Attempt.override_comment.is_(None),
    )


def is_provisional(attempt: Attempt) -> bool:
    """Tell whether an attempt's score awaits an instructor's review (see ``provisional``)."""
    return attempt.needs_review and attempt.reviewed_at is None and attempt.override_comment is None


def progress_by_question(session: Session, learner_id: int) -> dict[str, Progress]:
    """Return attempts, best counted score and whether it is provisional, per question id."""
    count_practice = get_count_practice(session)
    best = func.max(counted(Attempt.final_score, count_practice))
    # A tie between a settled and a provisional attempt is settled: the score stands.
    settled = case((~provisional(), counted(Attempt.final_score, count_practice)))
    rows = session.execute(
        select(
            Attempt.question_id,
            func.count(Attempt.id),
            best,
            func.max(counted(Attempt.final_points, count_practice)),
            or_(func.max(settled).is_(None), func.max(settled) < best),
        )
        .where(Attempt.learner_id == learner_id)
        .group_by(Attempt.question_id)
    )
    # Attempts that are all practice leave nothing counted: zero, as if unanswered.
    return {
        qid: Progress(count, score or 0.0, points or 0.0, bool(pending) and score is not None)
        for qid, count, score, points, pending in rows
    }


def attempts_for(session: Session, learner_id: int, question_id: str) -> list[Attempt]:
    """Return a learner's attempts at one question, newest first."""
    return list(
        session.scalars(
            select(Attempt)
            .where(Attempt.learner_id == learner_id, Attempt.question_id == question_id)
            .order_by(Attempt.id.desc())
        )
    )


def attempts_at(session: Session, learner_id: int, question_id: str) -> int:
    """Return how many attempts a learner has made at one question."""
    query = select(func.count(Attempt.id)).where(
        Attempt.learner_id == learner_id, Attempt.question_id == question_id
    )
    return int(session.scalar(query) or 0)


def other_attempts(session: Session, attempt: Attempt) -> list[tuple[int, float, datetime]]:
    """Return the learner's attempts at the same question: id, counted score, time."""
    rows = session.execute(
        select(Attempt.id, Attempt.final_score, Attempt.created_at)
        .where(Attempt.learner_id == attempt.learner_id, Attempt.question_id == attempt.question_id)
        .order_by(Attempt.id.desc())
    )
    return [(row[0], row[1], row[2]) for row in rows]


def attempts_with_learners(
    session: Session,
    *where: ColumnExpressionArgument[bool],
    order_by: Sequence[ColumnExpressionArgument[Any]] = (),
    limit: int | None = None,
) -> list[tuple[Attempt, str]]:
    """Return matching attempts with their learners' names, as instructor listings show them."""
    query = (
        select(Attempt, Learner.display_name)
        .join(Learner, Learner.id == Attempt.learner_id)
        .where(*where)
        .order_by(*order_by)
        .limit(limit)
    )
    return [(attempt, name) for attempt, name in session.execute(query)]


def get_own_attempt(session: Session, learner_id: int, attempt_id: int) -> Attempt | None:
    """Return an attempt only if it belongs to this learner."""
    attempt = session.get(Attempt, attempt_id)
    return attempt if attempt is not None and attempt.learner_id == learner_id else None


def insert_result_rows(session: Session, graded: Sequence[tuple[Attempt, GradeResult]]) -> None:
    """Insert the key-point and misconception rows of graded attempts, in bulk.

    Takes (attempt, result) pairs: one for a new attempt, many for a re-grade; each row
    names its attempt's question as the attempt does. In bulk because the unit of work's
    bookkeeping per object would cost more than the insert, inside the write lock.
    """
    points = [
        {"attempt_id": a.id, "point_id": p.id, "met": p.met, **_question_of(a)}
        for a, result in graded
        for p in result.key_points
    ]
    mistakes = [
        {"attempt_id": a.id, "misconception_id": m.id, **_question_of(a)}
        for a, result in graded
        for m in result.misconceptions
    ]
    connection = session.connection()
    if points:
        connection.execute(insert(AttemptPoint), points)
    if mistakes:
        connection.execute(insert(AttemptMisconception), mistakes)


def _question_of(attempt: Attempt) -> dict[str, str | int]:
    """Return the question columns a result row copies from its attempt."""
    return {"question_id": attempt.question_id, "question_number": attempt.question_number}

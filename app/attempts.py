"""Record graded answers and read a learner's progress back, aggregated in SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.grading import GradeResult
from app.models import Attempt, AttemptMisconception, AttemptPoint
from app.schema import Question


@dataclass(frozen=True, slots=True)
class Progress:
    """A learner's standing on one question."""

    attempts: int
    best_score: float
    best_points: float


def record_attempt(
    session: Session,
    learner_id: int,
    question: Question,
    text: str,
    result: GradeResult,
    idempotency_key: str | None = None,
) -> Attempt:
    """Add a graded answer to the session; the caller commits."""
    attempt = Attempt(
        learner_id=learner_id,
        question_id=str(question.id),
        question_number=question.number,
        content_hash=question.content_hash,
        text=text,
        score=result.score,
        points=result.points,
        max_points=result.max_points,
        breakdown=result.model_dump(mode="json"),
        final_score=result.score,
        final_points=result.points,
        idempotency_key=idempotency_key,
        confidence=result.confidence,
        needs_review=result.needs_review,
        review_reason=result.review_reason,
    )
    session.add(attempt)
    session.flush()
    # A row per key point and misconception, inserted in bulk: the unit of work's
    # bookkeeping per object would cost more than the insert, inside the write lock.
    number = question.number
    connection = session.connection()
    connection.execute(
        insert(AttemptPoint),
        [
            {"attempt_id": attempt.id, "point_id": p.id, "question_number": number, "met": p.met}
            for p in result.key_points
        ],
    )
    if result.misconceptions:
        connection.execute(
            insert(AttemptMisconception),
            [
                {"attempt_id": attempt.id, "misconception_id": m.id, "question_number": number}
                for m in result.misconceptions
            ],
        )
    return attempt


def progress_by_question(session: Session, learner_id: int) -> dict[str, Progress]:
    """Return attempts and best score per question id for one learner."""
    rows = session.execute(
        select(
            Attempt.question_id,
            func.count(Attempt.id),
            func.max(Attempt.final_score),
            func.max(Attempt.final_points),
        )
        .where(Attempt.learner_id == learner_id)
        .group_by(Attempt.question_id)
    )
    return {qid: Progress(count, best, points) for qid, count, best, points in rows}


def attempts_for(session: Session, learner_id: int, question_id: str) -> list[Attempt]:
    """Return a learner's attempts at one question, newest first."""
    return list(
        session.scalars(
            select(Attempt)
            .where(Attempt.learner_id == learner_id, Attempt.question_id == question_id)
            .order_by(Attempt.id.desc())
        )
    )


def get_own_attempt(session: Session, learner_id: int, attempt_id: int) -> Attempt | None:
    """Return an attempt only if it belongs to this learner."""
    attempt = session.get(Attempt, attempt_id)
    return attempt if attempt is not None and attempt.learner_id == learner_id else None

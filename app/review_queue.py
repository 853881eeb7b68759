"""The review queue: provisional scores an instructor accepts or changes, one or many at once.

The grader marks an answer it cannot judge (another language, unreadable, signals that
disagree) ``needs_review``; it waits here, oldest first, until an instructor settles it.
Settling sets ``reviewed_at`` and leaves a ``ScoreChange`` of kind ``review`` even when the
score is kept (old == new), so that every settled answer is a labelled one. The same
settling serves groups of similar low-scoring answers (app.grouping), reviewed together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from app.attempts import ListedAnswer, attempts_with_learners, provisional
from app.evidence import matched_spans, read_result
from app.grouping import LowAnswer
from app.models import Attempt, ChangeKind, ScoreChange, utc_now
from app.overrides import HUMAN_KINDS, record_change
from app.validation import InvalidText

LOW_SCORE = 0.5
MAX_SHOWN = 200
MAX_LOW_ANSWERS = 2000


def settled() -> Any:
    """Return the SQL condition "an instructor has judged this attempt's score"."""
    judged = exists().where(ScoreChange.attempt_id == Attempt.id, ScoreChange.kind.in_(HUMAN_KINDS))
    return or_(Attempt.reviewed_at.is_not(None), judged)


@dataclass(frozen=True, slots=True)
class QueueItem(ListedAnswer):
    """A provisional answer waiting for an instructor, with what the grader saw."""

    question_id: str
    points: float
    max_points: float
    confidence: float
    reason: str
    practice: bool


def queue_size(session: Session) -> int:
    """Return how many answers wait for review."""
    return int(session.scalar(select(func.count(Attempt.id)).where(provisional())) or 0)


def review_queue(session: Session, limit: int = MAX_SHOWN) -> list[QueueItem]:
    """Return the answers waiting for review, oldest first."""
    order = (Attempt.created_at, Attempt.id)
    rows = attempts_with_learners(session, provisional(), order_by=order, limit=limit)
    return [
        QueueItem.of(
            attempt,
            name,
            question_id=attempt.question_id,
            points=attempt.points,
            max_points=attempt.max_points,
            confidence=attempt.confidence,
            reason=attempt.review_reason or "",
            practice=attempt.practice,
        )
        for attempt, name in rows
    ]


def settle(
    session: Session,
    attempt: Attempt,
    instructor_id: int,
    points: float | None,
    comment: str,
) -> ScoreChange:
    """Settle an attempt's score: keep it (points None) or set it in points, with a comment."""
    if attempt.reviewed_at is not None:
        raise InvalidText(f"Attempt {attempt.id} was already reviewed; nothing was changed.")
    now = utc_now()
    score = (attempt.final_score, attempt.final_points)
    if points is not None:
        score = (round(points / attempt.max_points, 4), points)
        attempt.override_comment = comment or attempt.override_comment
    change = record_change(session, attempt, ChangeKind.REVIEW, instructor_id, score, comment, now)
    attempt.reviewed_at, attempt.reviewed_by = now, instructor_id
    return change


def settle_many(
    session: Session,
    attempt_ids: Sequence[int],
    instructor_id: int,
    points: float | None,
    comment: str,
    question_id: str | None = None,
) -> int:
    """Settle several attempts alike, all or none; return how many were settled."""
    if not attempt_ids:
        raise InvalidText("Choose at least one answer to review.")
    wanted = set(attempt_ids)
    query = select(Attempt).where(Attempt.id.in_(wanted)).order_by(Attempt.id)
    attempts = list(session.scalars(query))
    missing = wanted - {a.id for a in attempts}
    if missing:
        raise InvalidText(f"There is no attempt {min(missing)}; nothing was changed.")
    for attempt in attempts:
        if question_id is not None and attempt.question_id != question_id:
            raise InvalidText(f"Attempt {attempt.id} answers another question; nothing changed.")
        if points is not None and points > attempt.max_points:
            raise InvalidText(f"Attempt {attempt.id} is worth at most {attempt.max_points} points.")
    judged = set(session.scalars(select(Attempt.id).where(Attempt.id.in_(wanted), settled())))
    if judged:
        raise InvalidText(
            f"Attempt {min(judged)} was already reviewed since the page was shown; "
            "nothing was changed. Reload the page and try again."
        )
    for attempt in attempts:
        settle(session, attempt, instructor_id, points, comment)
    return len(attempts)


def low_answers(
    session: Session, question_id: str, limit: int = MAX_LOW_ANSWERS
) -> list[LowAnswer]:
    """Return the question's unsettled answers that earned little, newest first."""
    rows = session.execute(
        select(Attempt.id, Attempt.text, Attempt.breakdown)
        .where(Attempt.question_id == question_id, Attempt.score < LOW_SCORE, ~settled())
        .order_by(Attempt.id.desc())
        .limit(limit)
    )
    return [
        LowAnswer(i, text, matched_spans(read_result(breakdown))) for i, text, breakdown in rows
    ]


@dataclass(frozen=True, slots=True)
class GroupMember:
    """An answer of a group, as the instructor reads it before settling the group."""

    attempt_id: int
    learner: str
    answer: str
    points: float
    max_points: float


def group_members(session: Session, attempt_ids: Sequence[int]) -> dict[int, GroupMember]:
    """Return the answers of some attempts with their learners, by attempt id."""
    rows = attempts_with_learners(session, Attempt.id.in_(attempt_ids))
    return {a.id: GroupMember(a.id, name, a.text, a.final_points, a.max_points) for a, name in rows}

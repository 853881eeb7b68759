"""Changes of an attempt's counted score: overrides, the one writer of their rows, and history.

An attempt's counted score (``final_score``/``final_points``) starts as the grader's and
changes only through ``record_change``, each change leaving a ``ScoreChange`` row: an
override here, a claim's decision (app.claims), a review (app.review_queue) or a re-grade
(app.regrade). A rejected claim leaves a row with the score unchanged, so its note is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.evidence import stored_result
from app.lti.outbox import score_changed
from app.models import Attempt, ChangeKind, Claim, Instructor, ScoreChange, utc_now
from app.points import parse_points
from app.text import has_control, has_surrogate, normalize_newlines
from app.validation import InvalidText

# The kinds that mean an instructor has judged the attempt: its counted score is theirs.
HUMAN_KINDS = (ChangeKind.OVERRIDE, ChangeKind.CLAIM, ChangeKind.CLAIM_REJECTED, ChangeKind.REVIEW)
MAX_COMMENT_CHARS = 1000
CHANGE_LABELS = {
    ChangeKind.OVERRIDE: "Score override",
    ChangeKind.CLAIM: "Claim accepted",
    ChangeKind.CLAIM_REJECTED: "Claim rejected",
    ChangeKind.REVIEW: "Reviewed",
    ChangeKind.REGRADE: "Re-graded",
}


def clean_comment(text: str, what: str, required: bool) -> str:
    """Return a tidied comment or note (line breaks allowed), or raise InvalidText."""
    text = normalize_newlines(text).strip()
    if has_control(text) or has_surrogate(text):
        raise InvalidText(f"The {what} contains control characters; remove them and retry.")
    if required and not text:
        raise InvalidText(f"Write a {what} that explains the change: the learner will read it.")
    if len(text) > MAX_COMMENT_CHARS:
        raise InvalidText(f"The {what} is too long; use at most {MAX_COMMENT_CHARS} characters.")
    return text


def record_change(
    session: Session,
    attempt: Attempt,
    kind: ChangeKind,
    instructor_id: int | None,
    score: tuple[float, float],
    comment: str,
    at: datetime | None = None,
) -> ScoreChange:
    """Set an attempt's counted (score, points) and add the row saying who, when and why."""
    change = ScoreChange(
        attempt_id=attempt.id,
        instructor_id=instructor_id,
        kind=kind,
        old_score=attempt.final_score,
        new_score=score[0],
        comment=comment,
        created_at=at or utc_now(),
    )
    attempt.final_score, attempt.final_points = score
    session.add(change)
    score_changed(session, attempt.learner_id, attempt.question_id)  # LTI: queued for the LMS
    return change


def override_score(
    session: Session, attempt: Attempt, instructor_id: int, points: float, comment: str
) -> ScoreChange:
    """Set an attempt's counted score in points and record who changed it, when and why."""
    score = round(points / attempt.max_points, 4)
    change = record_change(
        session, attempt, ChangeKind.OVERRIDE, instructor_id, (score, points), comment
    )
    attempt.override_comment = comment
    if attempt.reviewed_at is None:  # a score set by hand settles a provisional one too
        attempt.reviewed_at, attempt.reviewed_by = change.created_at, instructor_id
    return change


def override_as_sent(
    session: Session, attempt: Attempt, instructor_id: int, score: object, comment: str
) -> ScoreChange:
    """Override with the score and comment as a form or the API sent them, checked first."""
    points = parse_points(score, attempt.max_points)
    cleaned = clean_comment(comment, "comment", True)
    return override_score(session, attempt, instructor_id, points, cleaned)


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of an attempt's score history, as people read it."""

    kind: ChangeKind
    old_points: float
    new_points: float
    comment: str
    created_at: datetime
    instructor: str | None
    point_text: str | None

    @property
    def label(self) -> str:
        """Name the kind of change."""
        return CHANGE_LABELS[self.kind]


def score_history(session: Session, attempt: Attempt) -> list[Change]:
    """Return the changes of an attempt's counted score, oldest first, in one query."""
    rows = session.execute(
        select(ScoreChange, Instructor.email, Claim.point_id)
        .outerjoin(Instructor, Instructor.id == ScoreChange.instructor_id)
        .outerjoin(Claim, Claim.score_change_id == ScoreChange.id)
        .where(ScoreChange.attempt_id == attempt.id)
        .order_by(ScoreChange.created_at, ScoreChange.id)
    )
    texts = {p.id: p.text for p in stored_result(attempt).key_points}
    return [
        Change(
            kind=change.kind,
            old_points=round(change.old_score * attempt.max_points, 2),
            new_points=round(change.new_score * attempt.max_points, 2),
            comment=change.comment,
            created_at=change.created_at,
            instructor=email,
            point_text=texts.get(point_id) if point_id else None,
        )
        for change, email, point_id in rows
    ]

"""What a learner may see of a grading result, and when they first saw a reference answer.

A missed key point's text says what the answer lacks, so it is as good as the reference
answer: it shows only once the reference is revealed under the reveal policy. Whatever
reveals it to a learner records a ``ReferenceView``; their later attempts are practice.
"""

from __future__ import annotations

import re

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.attempts import attempts_at, is_provisional
from app.evidence import stored_result
from app.grading import Evidence, GradeResult, MisconceptionResult
from app.models import Attempt, ReferenceView, utc_now
from app.policy import get_count_practice, get_reveal_policy

PROVISIONAL = "Provisional: an instructor will review this answer."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


class LearnerPoint(BaseModel):
    """A key point as the learner sees it; a missed one's text and id wait for the reveal."""

    id: str | None
    text: str | None
    weight: float
    met: bool
    optional: bool
    hint: str
    evidence: list[Evidence]
    contradicted_by: list[Evidence]
    voided_by: list[str]

    @property
    def hidden(self) -> bool:
        """Tell whether the point's text is withheld until the reference answer shows."""
        return self.text is None


class LearnerResult(BaseModel):
    """A grading result as its learner may see it, with the attempt's standing."""

    question: int
    score: float
    points: float
    max_points: float
    feedback: str
    key_points: list[LearnerPoint]
    missed: int
    misconceptions: list[MisconceptionResult]
    keyword_list: bool
    confidence: float
    needs_review: bool
    review_reason: str | None
    flags: list[str]
    language: str
    revealed: bool
    provisional: bool
    practice: bool
    counted: bool


def learner_view(
    result: GradeResult,
    revealed: bool,
    *,
    provisional: bool = False,
    practice: bool = False,
    counted: bool = True,
) -> LearnerResult:
    """Return what the learner sees of a result: missed points' texts only once revealed."""
    # A missed point's id ("arange-int64") and matched phrases name it as its text does.
    points = [
        LearnerPoint(
            id=p.id if p.met or revealed else None,
            text=p.text if p.met or revealed else None,
            weight=p.weight,
            met=p.met,
            optional=p.optional,
            hint=p.hint,
            evidence=p.evidence if p.met or revealed else [],
            contradicted_by=p.contradicted_by,
            voided_by=p.voided_by,
        )
        for p in result.key_points
    ]
    feedback = result.feedback if revealed else _without_missed(result)
    if provisional:
        feedback = f"{PROVISIONAL} {_without_verdict(feedback)}".strip()
    return LearnerResult(
        **result.model_dump(exclude={"key_points", "feedback"}),
        feedback=feedback,
        key_points=points,
        missed=sum(1 for p in result.key_points if not p.met and not p.optional),
        revealed=revealed,
        provisional=provisional,
        practice=practice,
        counted=counted,
    )


def _without_missed(result: GradeResult) -> str:
    """Drop from the feedback whatever names a missed key point."""
    missed = [p.text.rstrip(".") for p in result.key_points if not p.met]
    if not missed:
        return result.feedback
    # Attempts graded before issue 11 name their missed points this way, and keep it.
    feedback = result.feedback.replace(" Missed: " + "; ".join(missed) + ".", "")
    sentences = _SENTENCE_END.split(feedback)
    return " ".join(s for s in sentences if not any(text in s for text in missed))


def _without_verdict(feedback: str) -> str:
    """Drop the grader's confident verdict, its feedback's first sentence."""
    if feedback.startswith(PROVISIONAL):
        return feedback[len(PROVISIONAL) :].lstrip()
    parts = _SENTENCE_END.split(feedback, maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


def attempt_view(
    session: Session,
    attempt: Attempt,
    result: GradeResult | None = None,
    revealed: bool | None = None,
) -> LearnerResult:
    """Return the learner's view of a stored attempt, as the reveal policy allows now."""
    if revealed is None:
        revealed = reference_revealed(session, attempt.learner_id, attempt.question_id)
    return learner_view(
        result or stored_result(attempt),
        revealed,
        provisional=is_provisional(attempt),
        practice=attempt.practice,
        counted=not attempt.practice or get_count_practice(session),
    )


def reference_revealed(session: Session, learner_id: int, question_id: str) -> bool:
    """Tell whether the reveal policy shows this learner the question's reference answer."""
    return get_reveal_policy(session).shows(attempts_at(session, learner_id, question_id))


def has_seen_reference(session: Session, learner_id: int, question_id: str) -> bool:
    """Tell whether the learner has been shown the question's reference answer."""
    query = select(ReferenceView.seen_at).where(
        ReferenceView.learner_id == learner_id, ReferenceView.question_id == question_id
    )
    return session.scalar(query) is not None


def record_reference_view(session: Session, learner_id: int, question_id: str) -> None:
    """Note the first time a learner is shown a question's reference answer; later ones keep it."""
    if not has_seen_reference(session, learner_id, question_id):
        seen = ReferenceView(learner_id=learner_id, question_id=question_id, seen_at=utc_now())
        session.add(seen)

"""Labelled answers: attempts an instructor has judged, and how the grader agrees with them.

Every override, settled claim and settled review makes an attempt's counted score an
instructor's verdict on its answer; beside the grader's own score (``Attempt.score``) it
measures the grader on the answers learners really write.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.agreement import MARGIN, Agreement, agreement
from app.attempts import ListedAnswer, attempts_with_learners
from app.models import Attempt
from app.review_queue import settled

WORST = 10


@dataclass(frozen=True, slots=True)
class Labelled:
    """One judged answer: the grader's score and the instructor's, both 0..1."""

    attempt_id: int
    question_id: str
    question_number: int
    text: str
    auto: float
    human: float


@dataclass(frozen=True, slots=True)
class Disagreement(ListedAnswer):
    """A judged answer where grader and instructor differ, with the grader's evidence."""

    auto: float
    human: float

    @property
    def difference(self) -> float:
        """Return the grader's score minus the instructor's: positive when over-credited."""
        return self.auto - self.human


@dataclass(frozen=True, slots=True)
class Report:
    """Agreement overall and per question id, and the answers that differ most."""

    overall: Agreement
    questions: dict[str, Agreement]
    numbers: dict[str, int]  # the question number each id was last answered under
    worst: list[Disagreement]


def labelled_answers(session: Session, question_id: str | None = None) -> list[Labelled]:
    """Return every judged attempt, by question and id (for ``tfquiz grade --eval``)."""
    query = (
        select(
            Attempt.id,
            Attempt.question_id,
            Attempt.question_number,
            Attempt.text,
            Attempt.score,
            Attempt.final_score,
        )
        .where(settled())
        .order_by(Attempt.question_number, Attempt.id)
    )
    if question_id is not None:
        query = query.where(Attempt.question_id == question_id)
    return [Labelled(*row) for row in session.execute(query)]


def agreement_report(session: Session, margin: float = MARGIN, worst: int = WORST) -> Report:
    """Measure the grader against instructors' scores, overall and per question."""
    # Spearman ranks every pair, so the pairs come back whole; the texts stay behind.
    rows = session.execute(
        select(Attempt.question_id, Attempt.question_number, Attempt.score, Attempt.final_score)
        .where(settled())
        .order_by(Attempt.id)
    ).all()
    pairs: dict[str, tuple[list[float], list[float]]] = {}
    numbers: dict[str, int] = {}
    for question_id, number, auto, human in rows:
        humans, autos = pairs.setdefault(question_id, ([], []))
        humans.append(human)
        autos.append(auto)
        numbers[question_id] = number
    questions = {qid: agreement(h, a, margin) for qid, (h, a) in pairs.items()}
    overall = agreement([r[3] for r in rows], [r[2] for r in rows], margin)
    return Report(overall, questions, numbers, disagreements(session, worst))


def disagreements(session: Session, limit: int = WORST) -> list[Disagreement]:
    """Return the judged answers where grader and instructor differ most, largest first."""
    gap = func.abs(Attempt.score - Attempt.final_score)
    order = (gap.desc(), Attempt.id)
    rows = attempts_with_learners(session, settled(), gap > 0, order_by=order, limit=limit)
    return [
        Disagreement.of(attempt, name, auto=attempt.score, human=attempt.final_score)
        for attempt, name in rows
    ]

"""Re-grade stored attempts with the current rubric, keeping every instructor's verdict.

After a rubric edit (or a better grader), each stored answer gets its new automatic score,
breakdown, confidence and key-point rows. An attempt an instructor has judged (an override,
a claim decision, a review) keeps its counted score; an untouched one's counted score
follows the new automatic score, and each such change leaves a ``ScoreChange`` of kind
``regrade`` with the old and new score, so the history stays whole.

Grading is the slow part and needs no lock: ``grade_stored`` runs in a read transaction and
``apply_grades`` writes in a short one (or, on a dry run, only counts).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.attempts import insert_result_rows, write_grade
from app.db import Database
from app.grading import GradeResult, grade_answer
from app.models import Attempt, AttemptMisconception, AttemptPoint, ChangeKind, utc_now
from app.overrides import record_change
from app.questions import QuestionBank
from app.review_queue import settled
from app.schema import Question

COMMENT = "Re-graded with the current rubric."
SAME = 1e-9


@dataclass(frozen=True, slots=True)
class QuestionChanges:
    """What a re-grade changes (or would change) on one question."""

    number: int
    attempts: int
    raised: int  # automatic scores that go up
    lowered: int  # and down
    mean_change: float  # signed, over the attempts whose automatic score changes
    largest: float  # the largest change, in absolute value
    counted: int  # counted scores that follow the new automatic score
    kept: int  # changed automatic scores under an instructor's counted score

    @property
    def changed(self) -> int:
        """Return how many automatic scores change."""
        return self.raised + self.lowered


@dataclass(frozen=True, slots=True)
class Skipped:
    """Stored attempts of a question whose file is no longer loaded."""

    question_id: str
    number: int
    attempts: int


@dataclass(frozen=True, slots=True)
class RegradeReport:
    """The outcome of a re-grade, question by question."""

    questions: list[QuestionChanges]
    skipped: list[Skipped]
    dry_run: bool

    def summary(self) -> str:
        """Say in one line what changed, or would change on a dry run."""
        attempts = sum(q.attempts for q in self.questions)
        changed = sum(q.changed for q in self.questions)
        counted = sum(q.counted for q in self.questions)
        kept = sum(q.kept for q in self.questions)
        verb = "Would re-grade" if self.dry_run else "Re-graded"
        line = (
            f"{verb} {_count(attempts, 'attempt')} of {_count(len(self.questions), 'question')}: "
            f"{changed} automatic score{'s' if changed != 1 else ''} "
            f"{'would change' if self.dry_run else 'changed'}, "
            f"{_count(counted, 'counted score')} followed, "
            f"{kept} kept by an instructor"
        )
        if self.skipped:
            skipped = sum(s.attempts for s in self.skipped)
            line += (
                f"; skipped {_count(skipped, 'attempt')} of "
                f"{_count(len(self.skipped), 'question')} no longer in the quiz"
            )
        return line + (". Dry run: nothing was changed." if self.dry_run else ".")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def report_lines(report: RegradeReport) -> list[str]:
    """Return the report as terminal lines: one per question, then the summary."""
    lines = []
    for q in report.questions:
        line = f"Q{q.number:<3} {_count(q.attempts, 'attempt')}: "
        if q.changed:
            line += (
                f"{q.changed} change ({q.raised} up, {q.lowered} down, mean "
                f"{q.mean_change:+.2f}, largest {q.largest:.2f}); "
                f"{q.counted} counted, {q.kept} kept"
            )
        else:
            line += "no change"
        lines.append(line)
    for s in report.skipped:
        lines.append(
            f"Q{s.number:<3} skipped: its question file is gone "
            f"({_count(s.attempts, 'attempt')}, question id {s.question_id})"
        )
    lines.append(report.summary())
    return lines


def grade_stored(session: Session, question: Question) -> dict[int, GradeResult]:
    """Grade every stored answer to a question anew, by attempt id."""
    rows = session.execute(
        select(Attempt.id, Attempt.text).where(Attempt.question_id == str(question.id))
    )
    return {attempt_id: grade_answer(question, text) for attempt_id, text in rows}


def apply_grades(
    session: Session,
    question: Question,
    results: dict[int, GradeResult],
    dry_run: bool = False,
    instructor_id: int | None = None,
) -> QuestionChanges:
    """Store new grades (or, on a dry run, only count the changes); the caller commits."""
    qid = str(question.id)
    judged = set(session.scalars(select(Attempt.id).where(Attempt.question_id == qid, settled())))
    attempts = list(
        session.scalars(select(Attempt).where(Attempt.question_id == qid).order_by(Attempt.id))
    )
    changes: list[float] = []
    graded: list[tuple[Attempt, GradeResult]] = []
    counted = kept = 0
    now = utc_now()
    for attempt in attempts:
        # An answer stored since the grading pass is graded here, with the same rubric.
        result = results.get(attempt.id) or grade_answer(question, attempt.text)
        delta = result.score - attempt.score
        if abs(delta) > SAME:
            changes.append(delta)
        touched = attempt.id in judged
        follows = not touched and abs(result.score - attempt.final_score) > SAME
        counted += follows
        kept += touched and abs(delta) > SAME
        if dry_run:
            continue
        if follows:
            score = (result.score, result.points)
            record_change(session, attempt, ChangeKind.REGRADE, instructor_id, score, COMMENT, now)
        # An instructor's counted score stays.
        write_grade(attempt, question, result, as_counted=not touched)
        graded.append((attempt, result))
    if not dry_run and attempts:
        ids = [a.id for a in attempts]
        session.execute(delete(AttemptPoint).where(AttemptPoint.attempt_id.in_(ids)))
        session.execute(
            delete(AttemptMisconception).where(AttemptMisconception.attempt_id.in_(ids))
        )
        session.flush()
        insert_result_rows(session, graded)
    return QuestionChanges(
        number=question.number,
        attempts=len(attempts),
        raised=sum(1 for d in changes if d > 0),
        lowered=sum(1 for d in changes if d < 0),
        mean_change=sum(changes) / len(changes) if changes else 0.0,
        largest=max((abs(d) for d in changes), default=0.0),
        counted=counted,
        kept=kept,
    )


def missing_questions(session: Session, bank: QuestionBank) -> list[Skipped]:
    """Return the stored attempts' questions that are no longer loaded, with counts."""
    known = [str(q.id) for q in bank.ordered()]
    rows = session.execute(
        select(Attempt.question_id, func.max(Attempt.question_number), func.count(Attempt.id))
        .where(Attempt.question_id.not_in(known))
        .group_by(Attempt.question_id)
        .order_by(func.max(Attempt.question_number))
    )
    return [Skipped(qid, number, count) for qid, number, count in rows]


def regrade(
    database: Database,
    bank: QuestionBank,
    number: int | None = None,
    dry_run: bool = False,
    instructor_id: int | None = None,
) -> RegradeReport:
    """Re-grade the stored attempts of one question or all, a transaction per question."""
    chosen = [bank.questions[number]] if number is not None else bank.ordered()
    found = []
    for question in chosen:
        with database.reading() as session:
            results = grade_stored(session, question)
            if dry_run:
                found.append(apply_grades(session, question, results, dry_run=True))
                continue
        with database.writing() as session:
            found.append(apply_grades(session, question, results, False, instructor_id))
    with database.reading() as session:
        skipped = missing_questions(session, bank) if number is None else []
    return RegradeReport(found, skipped, dry_run)

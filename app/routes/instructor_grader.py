"""The grader under instructors' eyes: its agreement with their scores, and re-grading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response

from app.agreement import MARGIN, Agreement
from app.labels import agreement_report
from app.questions import QuestionBank
from app.regrade import regrade
from app.text import whole_number
from app.web.auth import InstructorDep, require_instructor
from app.web.csrf import require_csrf
from app.web.deps import BankDep, DatabaseDep, ReadSession, describe_range
from app.web.errors import INSTRUCTOR_API_ERRORS
from app.web.pages import redirect, render

router = APIRouter(
    dependencies=[Depends(require_instructor), Depends(require_csrf)],
    responses=INSTRUCTOR_API_ERRORS,
)
QuestionParam = Annotated[str, Query(max_length=10, description="A question number; all if empty.")]


@dataclass(frozen=True, slots=True)
class AgreementRow:
    """One question's line of the agreement table."""

    number: int
    title: str
    in_quiz: bool
    figures: Agreement


@router.get("/instructor/agreement", include_in_schema=False)
def agreement_page(
    request: Request, session: ReadSession, bank: BankDep, instructor: InstructorDep
) -> Response:
    """Show how the grader agrees with instructors' final scores, and where it differs most."""
    report = agreement_report(session)
    rows = [
        AgreementRow(q.number, q.title, True, report.questions[str(q.id)])
        for q in bank.ordered()
        if str(q.id) in report.questions
    ]
    rows += [
        AgreementRow(report.numbers[qid], "A question no longer in the quiz", False, figures)
        for qid, figures in report.questions.items()
        if bank.by_id(qid) is None
    ]
    return render(
        request,
        "instructor/agreement.html",
        instructor=instructor,
        overall=report.overall,
        rows=rows,
        worst=report.worst,
        margin=MARGIN,
        questions=bank.ordered(),
    )


def _chosen(bank: QuestionBank, raw: str) -> int | None:
    """Read the question to re-grade: None for all, or answer 400 naming the valid ones."""
    text = raw.strip()
    if not text:
        return None
    number = whole_number(text)
    if number is None or number not in bank.questions:
        raise HTTPException(400, detail=f"There is no question {text}. {describe_range(bank)}")
    return number


@router.get("/instructor/regrade", include_in_schema=False)
def regrade_preview(
    request: Request,
    database: DatabaseDep,
    bank: BankDep,
    instructor: InstructorDep,
    question: QuestionParam = "",
) -> Response:
    """Show what re-grading stored attempts with the current rubric would change."""
    number = _chosen(bank, question)
    report = regrade(database, bank, number, dry_run=True)
    return render(
        request,
        "instructor/regrade.html",
        instructor=instructor,
        report=report,
        number=number,
        questions=bank.ordered(),
    )


@router.post("/instructor/regrade", include_in_schema=False)
def regrade_run(
    request: Request,
    database: DatabaseDep,
    bank: BankDep,
    instructor: InstructorDep,
    question: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Re-grade stored attempts; instructors' scores stay, every counted change is recorded."""
    number = _chosen(bank, question)
    report = regrade(database, bank, number, instructor_id=instructor.id)
    target = "/instructor/regrade" + (f"?question={number}" if number is not None else "")
    return redirect(request, target, report.summary())

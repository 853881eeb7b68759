"""Instructor review: the queue of provisional answers, and groups of similar low scores."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy.orm import Session

from app.grouping import group_answers
from app.models import Attempt, Instructor
from app.overrides import clean_comment
from app.points import format_points, parse_points
from app.questions import QuestionBank
from app.review_queue import group_members, low_answers, review_queue, settle, settle_many
from app.schema import Question
from app.validation import InvalidText
from app.web.auth import InstructorDep, require_instructor
from app.web.csrf import require_csrf
from app.web.deps import BankDep, DatabaseDep, QuestionDep, ReadSession, RowId, RowIdField
from app.web.errors import INSTRUCTOR_API_ERRORS
from app.web.forms import DecisionForm, Text
from app.web.pages import chosen, get_or_404, redirect, render

router = APIRouter(
    dependencies=[Depends(require_instructor), Depends(require_csrf)],
    responses=INSTRUCTOR_API_ERRORS,
)
MAX_GROUP_IDS = 2000


class GroupForm(DecisionForm):
    """A decision for a group of similar answers: which answers, and the phrase they share."""

    attempt: list[RowIdField] | None = Field(None, max_length=MAX_GROUP_IDS)
    phrase: Text = ""


def _queue_page(
    request: Request,
    session: Session,
    bank: QuestionBank,
    instructor: Instructor,
    status: int = 200,
    **form: object,
) -> Response:
    """Render the review queue; ``form`` holds a refused form's values and message."""
    return render(
        request,
        "instructor/review.html",
        status,
        instructor=instructor,
        items=review_queue(session),
        bank=bank,
        **form,
    )


@router.get("/instructor/review", include_in_schema=False)
def queue(
    request: Request, session: ReadSession, bank: BankDep, instructor: InstructorDep
) -> Response:
    """List the answers whose provisional score waits for an instructor, oldest first."""
    return _queue_page(request, session, bank, instructor)


def _decide(session: Session, attempt: Attempt, instructor_id: int, form: DecisionForm) -> str:
    """Settle one provisional answer from the queue's form; return what happened."""
    if not attempt.needs_review:
        raise InvalidText(f"Attempt {attempt.id} is not waiting for review; nothing was changed.")
    if form.decision == "accept":
        settle(session, attempt, instructor_id, None, clean_comment(form.comment, "comment", False))
        return f"kept at {format_points(attempt.final_points)} points"
    points = parse_points(form.score, attempt.max_points)
    settle(session, attempt, instructor_id, points, clean_comment(form.comment, "comment", True))
    return f"set to {format_points(points)} points"


@router.post("/instructor/review/{attempt_id}", include_in_schema=False)
def review_decision(
    request: Request,
    attempt_id: RowId,
    database: DatabaseDep,
    bank: BankDep,
    instructor: InstructorDep,
    form: Annotated[DecisionForm, Form()],
) -> Response:
    """Accept a provisional score or change it (with a comment); bad input changes nothing."""
    try:
        chosen(form.decision, ("accept", "change"), "Choose Accept or Change score.")
        with database.writing() as session:
            attempt = get_or_404(session, Attempt, attempt_id, "attempt")
            outcome = _decide(session, attempt, instructor.id, form)
    except InvalidText as error:
        with database.reading() as session:
            return _queue_page(
                request,
                session,
                bank,
                instructor,
                422,
                error=str(error),
                error_attempt=attempt_id,
                **form.refill(),
            )
    return redirect(
        request, "/instructor/review", f"Attempt {attempt_id} reviewed: score {outcome}."
    )


def _groups_page(
    request: Request,
    session: Session,
    question: Question,
    instructor: Instructor,
    status: int = 200,
    **form: object,
) -> Response:
    """Render a question's groups of similar low-scoring answers, and any refused form."""
    answers = low_answers(session, str(question.id))
    groups = group_answers(answers, question.prompt_markdown)
    members = group_members(session, sorted({i for g in groups for i in g.attempt_ids}))
    return render(
        request,
        "instructor/groups.html",
        status,
        instructor=instructor,
        question=question,
        low=len(answers),
        groups=[(g, [members[i] for i in g.attempt_ids if i in members]) for g in groups],
        max_label=format_points(question.points),
        **form,
    )


@router.get("/instructor/questions/{n}/groups", include_in_schema=False)
def groups(
    request: Request, question: QuestionDep, session: ReadSession, instructor: InstructorDep
) -> Response:
    """Show the question's low-scoring answers grouped by the unmatched phrases they share."""
    return _groups_page(request, session, question, instructor)


@router.post("/instructor/questions/{n}/groups", include_in_schema=False)
def group_decision(
    request: Request,
    question: QuestionDep,
    database: DatabaseDep,
    instructor: InstructorDep,
    form: Annotated[GroupForm, Form()],
) -> Response:
    """Settle a group at once: keep every score, or set one score with one comment for all."""
    decision = form.decision
    try:
        chosen(decision, ("accept", "change"), "Choose Accept all or Set this score for all.")
        points = None if decision == "accept" else parse_points(form.score, question.points)
        cleaned = clean_comment(form.comment, "comment", decision == "change")
        with database.writing() as session:
            ids = form.attempt or []
            count = settle_many(session, ids, instructor.id, points, cleaned, str(question.id))
    except InvalidText as error:
        with database.reading() as session:
            return _groups_page(
                request,
                session,
                question,
                instructor,
                422,
                error=str(error),
                error_phrase=form.phrase,
                **form.refill(),
            )
    what = "kept" if points is None else f"set to {format_points(points)} points"
    return redirect(
        request,
        f"/instructor/questions/{question.number}/groups",
        f"{count} answer{'s' if count != 1 else ''} reviewed: {what}.",
    )

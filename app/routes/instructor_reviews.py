"""Instructor reviews: score overrides with history, claims, the reveal policy and exports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.attempts import other_attempts
from app.claims import claim_queue, claims_for_attempt, decide_claim
from app.evidence import stored_result
from app.exports import export_filename, export_stream
from app.models import Attempt, Claim, Instructor
from app.overrides import clean_comment, override_as_sent, score_history
from app.points import format_points
from app.policy import get_reveal_policy, parse_reveal_form, save_reveal_policy
from app.validation import InvalidText
from app.web.auth import InstructorDep, require_instructor
from app.web.csrf import require_csrf
from app.web.deps import BankDep, DatabaseDep, ReadSession, RowId
from app.web.errors import INSTRUCTOR_API_ERRORS
from app.web.forms import ScoreForm, Text
from app.web.pages import chosen, get_or_404, redirect, render
from app.web.rendering import mark_answer

router = APIRouter(
    dependencies=[Depends(require_instructor), Depends(require_csrf)],
    responses=INSTRUCTOR_API_ERRORS,
)
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


class ClaimForm(BaseModel):
    """A decision on a claim: the button pressed, and an optional note to the learner."""

    decision: Text = ""
    note: Text = ""


class RevealForm(BaseModel):
    """When learners see the reference answer: the mode, its attempt count, the release box."""

    mode: Text = ""
    after: Text = ""
    released: Text = ""


def _attempt_page(
    request: Request,
    session: Session,
    bank: BankDep,
    instructor: Instructor,
    attempt: Attempt,
    status: int = 200,
    **form: str,
) -> Response:
    """Render the review page of one attempt, with the override form and the history."""
    result = stored_result(attempt)
    question = bank.by_id(attempt.question_id)
    return render(
        request,
        "instructor/attempt.html",
        status,
        instructor=instructor,
        attempt=attempt,
        learner=attempt.learner,
        question=question,
        result=result,
        marked=mark_answer(attempt.text, result.highlights()),
        history=score_history(session, attempt),
        claims=claims_for_attempt(session, attempt),
        others=other_attempts(session, attempt),
        max_label=format_points(attempt.max_points),
        **{"score": format_points(attempt.final_points), **form},
    )


@router.get("/instructor/attempts/{attempt_id}", include_in_schema=False)
def attempt_review(
    request: Request,
    attempt_id: RowId,
    session: ReadSession,
    bank: BankDep,
    instructor: InstructorDep,
) -> Response:
    """Show an attempt with its grading, the form to override its score, and the history."""
    return _attempt_page(
        request, session, bank, instructor, get_or_404(session, Attempt, attempt_id, "attempt")
    )


@router.post("/instructor/attempts/{attempt_id}", include_in_schema=False)
def attempt_override(
    request: Request,
    attempt_id: RowId,
    database: DatabaseDep,
    bank: BankDep,
    instructor: InstructorDep,
    form: Annotated[ScoreForm, Form()],
) -> Response:
    """Set the attempt's counted score from the form; bad input changes nothing."""
    try:
        with database.writing() as session:
            attempt = get_or_404(session, Attempt, attempt_id, "attempt")
            override_as_sent(session, attempt, instructor.id, form.score, form.comment)
            points = attempt.final_points
    except InvalidText as error:
        with database.reading() as session:
            attempt = get_or_404(session, Attempt, attempt_id, "attempt")
            return _attempt_page(
                request,
                session,
                bank,
                instructor,
                attempt,
                422,
                error=str(error),
                **form.refill(),
            )
    return redirect(
        request,
        f"/instructor/attempts/{attempt_id}",
        f"Score set to {format_points(points)} points.",
    )


class OverrideIn(BaseModel):
    """A new counted score for an attempt, in points, and the reason the learner will read."""

    score: float = Field(
        strict=True,
        description="Points to count (a JSON number), from 0 to the question's maximum.",
    )
    comment: str = Field(max_length=20_000, description="Why; shown to the learner.")


class OverrideOut(BaseModel):
    """The attempt's scores after an override."""

    attempt_id: int
    auto_score: float
    final_score: float
    final_points: float
    max_points: float
    comment: str
    changed_at: datetime
    changed_by: str


@router.post(
    "/api/instructor/attempts/{attempt_id}/override",
    response_model=OverrideOut,
    tags=["instructor"],
)
def api_override(
    attempt_id: RowId, body: OverrideIn, database: DatabaseDep, instructor: InstructorDep
) -> OverrideOut:
    """Set an attempt's counted score in points; send the CSRF token in X-CSRF-Token."""
    try:
        with database.writing() as session:
            attempt = get_or_404(session, Attempt, attempt_id, "attempt")
            change = override_as_sent(session, attempt, instructor.id, body.score, body.comment)
            return OverrideOut(
                attempt_id=attempt.id,
                auto_score=attempt.score,
                final_score=attempt.final_score,
                final_points=attempt.final_points,
                max_points=attempt.max_points,
                comment=change.comment,
                changed_at=change.created_at,
                changed_by=instructor.email,
            )
    except InvalidText as error:
        raise HTTPException(422, detail=str(error)) from None


ClaimsPage = Annotated[int, Query(ge=1, le=1_000_000, description="Page of pending claims.")]


@router.get("/instructor/claims", include_in_schema=False)
def claims(
    request: Request, session: ReadSession, instructor: InstructorDep, page: ClaimsPage = 1
) -> Response:
    """List claims: a page of pending ones with the answer and key point, then recent decisions."""
    return render(
        request, "instructor/claims.html", instructor=instructor, queue=claim_queue(session, page)
    )


@router.post("/instructor/claims/{claim_id}", include_in_schema=False)
def claim_decision(
    request: Request,
    claim_id: RowId,
    database: DatabaseDep,
    instructor: InstructorDep,
    form: Annotated[ClaimForm, Form()],
    page: ClaimsPage = 1,
) -> Response:
    """Accept a claim (its key point's weight is added) or reject it with an optional note."""
    back = "/instructor/claims" + (f"?page={page}" if page > 1 else "")
    try:
        pressed = chosen(form.decision, ("accept", "reject"), "Choose Accept or Reject.")
        accept = pressed == "accept"
        with database.writing() as session:
            claim = get_or_404(session, Claim, claim_id, "claim")
            cleaned = clean_comment(form.note, "note", False)
            decide_claim(session, claim, instructor.id, accept, cleaned)
    except InvalidText as error:
        with database.reading() as session:
            queue = claim_queue(session, page)
        return render(
            request,
            "instructor/claims.html",
            422,
            instructor=instructor,
            queue=queue,
            error=str(error),
            error_claim=claim_id,
            note=form.note,
        )
    verb = "accepted" if accept else "rejected"
    return redirect(request, back, f"Claim {verb}.")


@router.get("/instructor/settings", include_in_schema=False)
def settings_form(request: Request, session: ReadSession, instructor: InstructorDep) -> Response:
    """Show the reveal policy and the export downloads."""
    policy = get_reveal_policy(session)
    return render(
        request,
        "instructor/settings.html",
        instructor=instructor,
        policy=policy,
        after=policy.after,
    )


@router.post("/instructor/settings", include_in_schema=False)
def settings_save(
    request: Request,
    database: DatabaseDep,
    instructor: InstructorDep,
    form: Annotated[RevealForm, Form()],
) -> Response:
    """Store when learners see the reference answer."""
    try:
        policy = parse_reveal_form(form.mode, form.after, form.released == "on")
    except InvalidText as error:
        with database.reading() as session:
            current = get_reveal_policy(session)
        return render(
            request,
            "instructor/settings.html",
            422,
            instructor=instructor,
            policy=current,
            after=form.after,
            error=str(error),
        )
    with database.writing() as session:
        save_reveal_policy(session, policy)
    return redirect(request, "/instructor/settings", "Settings saved.")


def _download(database: DatabaseDep, bank: BankDep, kind: str, fmt: str) -> Response:
    """Send an export as a dated attachment; the larger attempt exports stream."""
    chunks = export_stream(database.reading, kind, fmt, bank.ordered())
    headers = {
        "Content-Disposition": f'attachment; filename="{export_filename(kind, fmt)}"',
        "Cache-Control": "no-store",
    }
    if kind == "scores":  # one row per learner: small enough to send whole, with a length
        return Response("".join(chunks), media_type=MEDIA[fmt], headers=headers)
    return StreamingResponse(chunks, media_type=MEDIA[fmt], headers=headers)


@router.get("/instructor/export/scores.csv", include_in_schema=False)
def export_scores(database: DatabaseDep, bank: BankDep) -> Response:
    """Download the gradebook: one row per learner, best counted points per question."""
    return _download(database, bank, "scores", "csv")


@router.get("/instructor/export/attempts.csv", include_in_schema=False)
def export_attempts_csv(database: DatabaseDep, bank: BankDep) -> Response:
    """Download every attempt as CSV."""
    return _download(database, bank, "attempts", "csv")


@router.get("/instructor/export/attempts.json", include_in_schema=False)
def export_attempts_json(database: DatabaseDep, bank: BankDep) -> Response:
    """Download every attempt as JSON."""
    return _download(database, bank, "attempts", "json")

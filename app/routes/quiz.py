"""Learner pages: the questions, answering, results, claims and the summary."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app import submissions
from app.attempts import (
    attempts_at,
    attempts_for,
    get_own_attempt,
    is_provisional,
    progress_by_question,
)
from app.claims import NotClaimable, claims_for_attempt, submit_claim
from app.db import Database
from app.demos.protocol import DemoRunner
from app.evidence import stored_result
from app.models import Attempt, ChangeKind, Learner
from app.overrides import score_history
from app.policy import get_count_practice, get_reveal_policy
from app.questions import QuestionBank
from app.ratelimit import Bucket, RateLimited, check
from app.reveals import attempt_view, has_seen_reference, record_reference_view
from app.schema import Question
from app.validation import InvalidText
from app.web.csrf import require_csrf
from app.web.deps import (
    BankDep,
    DatabaseDep,
    LearnerDep,
    MetricsDep,
    PoolDep,
    QuestionDep,
    ReadSession,
    RowId,
    SettingsDep,
    client_address,
)
from app.web.errors import refusal
from app.web.pages import demos_for, redirect, render
from app.web.rendering import mark_answer, render_markdown

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)  # pages
TOO_MANY_CLAIMS = "You are sending claims too quickly; try again in {seconds} s."


@router.get("/questions/{n}", name="question")
def question_page(
    request: Request,
    question: QuestionDep,
    bank: BankDep,
    learner: LearnerDep,
    session: ReadSession,
    pool: PoolDep,
) -> Response:
    """Show a question with its answer form, earlier attempts and (once answered) demos."""
    attempts = attempts_for(session, learner.id, str(question.id)) if learner else []
    return _question_page(
        request,
        question,
        bank,
        learner,
        attempts=attempts,
        provisional={a.id for a in attempts if is_provisional(a)},
        counts_practice=any(a.practice for a in attempts) and get_count_practice(session),
        demos=demos_for(question, session, pool),
        demos_open=bool(attempts) or request.query_params.get("demos") == "open",
    )


def _question_page(
    request: Request,
    question: Question,
    bank: QuestionBank,
    learner: Learner | None,
    status: int = 200,
    **context: Any,
) -> Response:
    """Render a question with its answer form: on first view, or again after a refusal."""
    context.setdefault("answer", "")
    context.setdefault("provisional", set())
    context.setdefault("counts_practice", False)
    return render(
        request,
        "quiz/question.html",
        status=status,
        question=question,
        learner=learner,
        prompt=render_markdown(question.prompt_markdown),
        neighbours=bank.neighbours(question),
        form_key=new_form_key(),
        **context,
    )


@router.post("/questions/{n}", name="answer")
def submit_answer(
    request: Request,
    question: QuestionDep,
    bank: BankDep,
    learner: LearnerDep,
    database: DatabaseDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    answer: Annotated[str, Form(max_length=200_000)],
    idempotency_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Grade an answer from the form, store it once (a double submit replays), show it."""
    if learner is None:
        here = f"/questions/{question.number}"
        return redirect(request, f"/?next={quote(here)}", "Enter your name before answering.")
    try:
        recorded = submissions.submit_answer(
            database,
            settings,
            question,
            answer,
            client_address(request),
            learner_id=learner.id,
            key=idempotency_key or None,
            metrics=metrics,
            channel="form",
        )
    except (InvalidText, RateLimited) as error:
        status, message, headers = refusal(error)
        response = _question_page(
            request, question, bank, learner, status, attempts=[], error=message, answer=answer
        )
        response.headers.update(headers)
        return response
    return redirect(request, f"/questions/{question.number}/attempts/{recorded.attempt_id}")


def new_form_key() -> str:
    """Return a fresh idempotency key for an answer form, so a double submit counts once."""
    return uuid.uuid4().hex


@router.get("/questions/{n}/attempts/{attempt_id}", name="result")
def result_page(
    request: Request,
    question: QuestionDep,
    bank: BankDep,
    learner: LearnerDep,
    session: ReadSession,
    database: DatabaseDep,
    pool: PoolDep,
    attempt_id: RowId,
) -> Response:
    """Show one of the learner's own graded attempts, its reviews and, when due, the reference."""
    attempt = _own_attempt(session, learner, question, attempt_id)
    context = _result(session, bank, question, attempt, pool, learner)
    _note_reveal(database, session, attempt, context)
    return render(request, "quiz/result.html", **context)


@router.post("/questions/{n}/attempts/{attempt_id}/claims", name="claim")
def claim(
    request: Request,
    question: QuestionDep,
    bank: BankDep,
    learner: LearnerDep,
    database: DatabaseDep,
    settings: SettingsDep,
    pool: PoolDep,
    attempt_id: RowId,
    point: Annotated[str, Form(max_length=64)],
    justification: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Claim that the answer met a key point the grader marked as missed; limited per minute."""
    here = f"/questions/{question.number}/attempts/{attempt_id}"
    try:
        with database.writing() as session:
            attempt = _own_attempt(session, learner, question, attempt_id)
            policy = get_reveal_policy(session)
            if not policy.shows(attempts_at(session, attempt.learner_id, attempt.question_id)):
                raise InvalidText("You can claim a key point once the reference answer is shown.")
            # Every claim lands in the instructor's queue: a flood would bury the real ones.
            by_learner = Bucket(
                "claim-learner", str(attempt.learner_id), settings.claim_limit_per_learner
            )
            by_address = Bucket(
                "claim-address", client_address(request), settings.claim_limit_per_address
            )
            check(session, by_learner, by_address, refusal=TOO_MANY_CLAIMS)
            submit_claim(session, attempt, point, justification)
    except NotClaimable:
        raise HTTPException(404, detail="That key point is not part of this attempt.") from None
    except (InvalidText, RateLimited) as error:
        status, message, headers = refusal(error)
        with database.reading() as session:
            attempt = _own_attempt(session, learner, question, attempt_id)
            context = _result(session, bank, question, attempt, pool, learner)
            _note_reveal(database, session, attempt, context)
        response = render(
            request,
            "quiz/result.html",
            status=status,
            **context,
            claim_error=message,
            claim_point=point,
            claim_text=justification,
        )
        response.headers.update(headers)
        return response
    return redirect(request, f"{here}#point-{point}", "Claim sent: your instructor will review it.")


def _own_attempt(
    session: Session, learner: Learner | None, question: Question, attempt_id: int
) -> Attempt:
    attempt = get_own_attempt(session, learner.id, attempt_id) if learner else None
    if attempt is None or attempt.question_id != str(question.id):
        raise HTTPException(404, detail="No such attempt among your answers.")
    return attempt


def _result(
    session: Session,
    bank: QuestionBank,
    question: Question,
    attempt: Attempt,
    pool: DemoRunner,
    learner: Learner | None,
) -> dict[str, Any]:
    """Gather what the result page shows: grading, reviews, claims and the reveal policy."""
    result = stored_result(attempt)
    policy = get_reveal_policy(session)
    count = attempts_at(session, attempt.learner_id, attempt.question_id)
    shown = policy.shows(count)
    history = score_history(session, attempt)
    return {
        "question": question,
        "learner": learner,
        "attempt": attempt,
        "result": result,
        "view": attempt_view(session, attempt, result, revealed=shown),
        "marked": mark_answer(attempt.text, result.highlights()),
        "reference": render_markdown(question.reference_markdown) if shown else None,
        "waiting": None if shown else policy.waiting_message(count),
        "history": history,
        "claims": claims_for_attempt(session, attempt),
        "changed": any(change.kind != ChangeKind.CLAIM_REJECTED for change in history),
        "stale": attempt.content_hash != question.content_hash,
        "neighbours": bank.neighbours(question),
        "demos": demos_for(question, session, pool),
        "demos_open": True,
    }


def _note_reveal(
    database: Database, session: Session, attempt: Attempt, context: dict[str, Any]
) -> None:
    """Record the first time the learner sees the reference; later attempts are practice."""
    if context["reference"] is None:
        return
    if not has_seen_reference(session, attempt.learner_id, attempt.question_id):
        with database.writing() as writer:
            record_reference_view(writer, attempt.learner_id, attempt.question_id)


@router.get("/summary", name="summary")
def summary(request: Request, bank: BankDep, learner: LearnerDep, session: ReadSession) -> Response:
    """Show the best score per question and the total."""
    if learner is None:
        return redirect(request, "/?next=/summary", "Enter your name to see your summary.")
    progress = progress_by_question(session, learner.id)
    rows = [(q, progress.get(str(q.id))) for q in bank.ordered()]
    total = sum(p.best_points for _, p in rows if p is not None)
    return render(
        request,
        "quiz/summary.html",
        learner=learner,
        rows=rows,
        total=total,
        possible=bank.possible_points,
        answered=sum(1 for _, p in rows if p is not None),
        counts_practice=get_count_practice(session),
    )

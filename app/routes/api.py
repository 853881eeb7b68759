"""The JSON API beside the pages, documented at /docs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, Request, Response
from pydantic import BaseModel, Field

from app import submissions
from app.learners import NameTaken
from app.reveals import LearnerResult
from app.schema import Question
from app.validation import InvalidText
from app.web.deps import (
    LEARNER_KEY,
    BankDep,
    DatabaseDep,
    MetricsDep,
    QuestionDep,
    SettingsDep,
    client_address,
    session_cookie_invalid,
)
from app.web.errors import documented
from app.web.rendering import render_markdown
from app.web.responses import model_response

router = APIRouter(prefix="/api", tags=["quiz"])


class QuestionSummary(BaseModel):
    """A question as listed."""

    number: int
    id: UUID
    title: str
    topic: str
    points: float


class DemoSummary(BaseModel):
    """A demo of a question, by its 1-based index."""

    index: int
    title: str


class QuestionDetail(QuestionSummary):
    """A question with its prompt, without the reference answer."""

    prompt_markdown: str
    prompt_html: str
    demos: list[DemoSummary]


class AnswerIn(BaseModel):
    """An answer sent by a learner known by name."""

    learner: Annotated[str, Field(max_length=1000, description="The learner's display name.")]
    text: Annotated[str, Field(max_length=200_000, description="The answer.")]
    email: Annotated[str | None, Field(default=None, max_length=1000)] = None


class AnswerOut(LearnerResult):
    """The grading result of a recorded answer as its learner may see it, with its attempt.

    A missed key point's ``text`` is null until the reference answer is revealed under the
    quiz's reveal policy; ``missed`` counts the missed points and ``hint`` nudges without
    giving them away. A ``provisional`` score waits for an instructor's review; a
    ``practice`` attempt, made after the reference was revealed, may not be ``counted``.
    """

    attempt_id: int
    recorded: bool
    replayed: bool = False
    learner: str
    created_at: datetime


ERRORS = documented(400, 401, 403, 404, 413, 422, 429, 503)


def summarise(question: Question) -> QuestionSummary:
    """Return the listing form of a question."""
    return QuestionSummary.model_validate(question, from_attributes=True)


@router.get("/questions", response_model=list[QuestionSummary])
def list_questions(bank: BankDep) -> list[QuestionSummary]:
    """List the questions in quiz order."""
    return [summarise(question) for question in bank.ordered()]


@router.get("/questions/{n}", response_model=QuestionDetail, responses=ERRORS)
def get_question(question: QuestionDep) -> QuestionDetail:
    """Return one question's prompt and its demos' titles."""
    return QuestionDetail(
        **summarise(question).model_dump(),
        prompt_markdown=question.prompt_markdown,
        prompt_html=str(render_markdown(question.prompt_markdown)),
        demos=[DemoSummary(index=d.index, title=d.title) for d in question.demos],
    )


@router.post(
    "/questions/{n}/answers",
    response_model=AnswerOut,
    status_code=201,
    responses={**ERRORS, 200: {"model": AnswerOut, "description": "Replayed: already recorded"}},
)
def submit_answer(
    request: Request,
    question: QuestionDep,
    body: AnswerIn,
    database: DatabaseDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Grade an answer, record it once, and return the result with the attempt's id.

    Send an `Idempotency-Key` header to retry safely: the same key with the same answer
    returns the stored attempt (status 200) instead of recording it twice.
    """
    if session_cookie_invalid(request, settings):
        raise HTTPException(
            401,
            detail="The session cookie is not valid (altered or expired); "
            "drop it and send the answer again.",
        )
    try:
        recorded = submissions.submit_answer(
            database,
            settings,
            question,
            body.text,
            client_address(request),
            learner_id=request.session.get(LEARNER_KEY),
            learner_name=body.learner,
            email=body.email,
            key=idempotency_key,
            with_view=True,
            metrics=metrics,
        )
    except NameTaken as error:
        raise HTTPException(403, detail=str(error)) from None
    except InvalidText as error:
        raise HTTPException(422, detail=str(error)) from None
    request.session[LEARNER_KEY] = recorded.learner_id
    assert recorded.view is not None  # asked for above
    answer = AnswerOut(
        attempt_id=recorded.attempt_id,
        recorded=True,
        replayed=recorded.replayed,
        learner=recorded.learner_name,
        created_at=recorded.created_at,
        **dict(recorded.view),
    )
    return model_response(answer, 200 if recorded.replayed else 201)

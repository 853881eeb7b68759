"""The JSON API beside the pages, documented at /docs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from app.attempts import record_attempt
from app.deps import (
    LEARNER_KEY,
    BankDep,
    DatabaseDep,
    QuestionDep,
    SettingsDep,
    session_cookie_invalid,
)
from app.grading import GradeResult, MisconceptionResult, PointResult, grade_answer
from app.learners import NameTaken, sign_in
from app.rendering import render_markdown
from app.schema import Question
from app.validation import InvalidText, clean_answer

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


class AnswerOut(BaseModel):
    """The grading result of a recorded answer."""

    attempt_id: int
    recorded: bool
    learner: str
    question: int
    score: float
    points: float
    max_points: float
    feedback: str
    key_points: list[PointResult]
    misconceptions: list[MisconceptionResult]
    keyword_list: bool
    created_at: datetime


class ErrorOut(BaseModel):
    """Why a request was refused."""

    detail: str


ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 413, 422)
}


def summarise(question: Question) -> QuestionSummary:
    """Return the listing form of a question."""
    return QuestionSummary(
        number=question.number,
        id=question.id,
        title=question.title,
        topic=question.topic,
        points=question.points,
    )


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


@router.post("/questions/{n}/answers", response_model=AnswerOut, status_code=201, responses=ERRORS)
def submit_answer(
    request: Request,
    question: QuestionDep,
    body: AnswerIn,
    database: DatabaseDep,
    settings: SettingsDep,
) -> AnswerOut:
    """Grade an answer, record it, and return the result with the attempt's id."""
    if session_cookie_invalid(request, settings):
        raise HTTPException(
            401,
            detail="The session cookie is not valid (altered or expired); "
            "drop it and send the answer again.",
        )
    try:
        text = clean_answer(body.text, settings.max_answer_chars)
        result: GradeResult = grade_answer(question, text)
        current = request.session.get(LEARNER_KEY)
        with database.writing() as session:
            learner, _ = sign_in(session, body.learner, body.email, current)
            attempt = record_attempt(session, learner.id, question, text, result)
            attempt_id, created_at, name = attempt.id, attempt.created_at, learner.display_name
            learner_id = learner.id
    except NameTaken as error:
        raise HTTPException(403, detail=str(error)) from None
    except InvalidText as error:
        raise HTTPException(422, detail=str(error)) from None
    request.session[LEARNER_KEY] = learner_id
    return AnswerOut(
        attempt_id=attempt_id,
        recorded=True,
        learner=name,
        created_at=created_at,
        **result.model_dump(exclude={"question"}),
        question=question.number,
    )

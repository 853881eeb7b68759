"""The JSON API beside the pages, documented at /docs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, HTTPException, Request, Response
from pydantic import BaseModel, Field

from app import submissions
from app.identity import WRONG_CODE, sign_in, sign_up
from app.learners import NameTaken, find_by_name, resolve_session
from app.reveals import LearnerResult
from app.schema import Question
from app.validation import InvalidText, clean_answer, clean_name, name_key
from app.web.deps import (
    SESSION_KEY,
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
    """An answer, with proof of who sends it: the session cookie, or the name and code.

    A new name (and no code) creates the learner, whose code comes back once in the answer.
    """

    learner: Annotated[str, Field(max_length=1000, description="The learner's display name.")]
    text: Annotated[str, Field(max_length=200_000, description="The answer.")]
    code: Annotated[
        str | None,
        Field(default=None, max_length=1000, description="The learner's sign-in code."),
    ] = None
    email: Annotated[
        str | None,
        Field(default=None, max_length=1000, description="Refused: an email proves nothing."),
    ] = None


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
    sign_in_code: str | None = Field(
        default=None,
        description="Only when this answer created the learner: their code, shown this once.",
    )


EMAIL_REFUSED = (
    'An email address is not proof of who you are: send your sign-in code as "code" '
    '(with your name as "learner"), or the session cookie of an earlier answer.'
)
NAME_TAKEN = (
    'The name “{name}” is already taken: send its sign-in code as "code", or the '
    "session cookie of an earlier answer, to answer as that learner."
)

ERRORS = documented(400, 401, 403, 404, 409, 413, 422, 429, 503)


@dataclass(frozen=True)
class Proven:
    """The learner an answer is from, and what the response must hand back."""

    learner_id: int
    token: str | None = None  # a session opened now, for the cookie
    new_code: str | None = None  # the code of a learner created now, shown once


def learner_for(
    request: Request, database: DatabaseDep, settings: SettingsDep, name: str, code: str | None
) -> Proven:
    """Return who answers: by session cookie, by name and code, or a new name (created).

    Raise HTTPException 401 for a wrong code, 403 for a name that is another learner's
    and no proof, 409 for a new name that looks like one, RateLimited for too many tries.
    """
    address = client_address(request)
    cookie = request.session.get(SESSION_KEY)
    token = cookie if isinstance(cookie, str) else None
    if code is not None:
        signed = sign_in(database, settings, name, code, address, token)
        if signed is None or signed.token is None:
            raise HTTPException(401, detail=WRONG_CODE)
        return Proven(signed.learner_id, signed.token)
    max_age = timedelta(days=settings.session_max_age_days)
    with database.reading() as session:  # the common case, answering again: no write lock
        current = resolve_session(session, token, max_age) if token else None
        if current is not None and current.name_key == name_key(clean_name(name)):
            return Proven(current.id)
        taken = find_by_name(session, clean_name(name))
    if taken is not None:
        raise HTTPException(403, detail=NAME_TAKEN.format(name=taken.display_name))
    try:
        created = sign_up(database, settings, name, None, address, token)
    except NameTaken as error:
        raise HTTPException(409, detail=str(error)) from None
    return Proven(created.learner_id, created.token, created.code)


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
    if body.email is not None:
        raise HTTPException(422, detail=EMAIL_REFUSED)
    try:
        # Checked before anyone is signed up: a refused answer must leave nothing behind.
        clean_answer(body.text, settings.max_answer_chars)
        submissions.clean_key(idempotency_key)
        found = learner_for(request, database, settings, body.learner, body.code)
        recorded = submissions.submit_answer(
            database,
            settings,
            question,
            body.text,
            client_address(request),
            learner_id=found.learner_id,
            key=idempotency_key,
            with_view=True,
            metrics=metrics,
        )
    except InvalidText as error:
        raise HTTPException(422, detail=str(error)) from None
    if found.token is not None:
        request.session[SESSION_KEY] = found.token
    assert recorded.view is not None  # asked for above
    answer = AnswerOut(
        attempt_id=recorded.attempt_id,
        recorded=True,
        replayed=recorded.replayed,
        learner=recorded.learner_name,
        created_at=recorded.created_at,
        sign_in_code=found.new_code,
        **dict(recorded.view),
    )
    return model_response(answer, 200 if recorded.replayed else 201)

"""The home page, and learners signing in: a new name is shown a code once, to give back later.

A name alone proves nothing (classmates know it), and an email is contact data only. The
browser then holds a server-side session that "Leave", or an instructor, ends everywhere.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.attempts import progress_by_question
from app.classes import get_class_settings
from app.config import Settings
from app.identity import WRONG_CODE, reissue, sign_in, sign_up
from app.learners import NameTaken, end_session, get_learner, identity_of
from app.questions import QuestionBank
from app.ratelimit import RateLimited
from app.validation import InvalidText, name_key
from app.web.csrf import require_csrf
from app.web.deps import (
    LEARNER_KEY,
    SESSION_KEY,
    BankDep,
    DatabaseDep,
    LearnerDep,
    ReadSession,
    SettingsDep,
    client_address,
    keep_learner_session,
    learner_session_token,
    legacy_learner_id,
    session_cookie_invalid,
)
from app.web.errors import refusal
from app.web.pages import redirect, render, safe_next

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)  # pages
ENDED = (
    "Your session was ended (you left on another device, or your instructor ended it); "
    "sign in with your name and code."
)
OLD_COOKIE = (
    "Sign-ins now use a personal code, and this browser's old sign-in no longer works: "
    "continue with your name and code, or ask your instructor for a new code."
)


@router.get("/", name="home")
def home(
    request: Request,
    bank: BankDep,
    settings: SettingsDep,
    learner: LearnerDep,
    session: ReadSession,
    next: str | None = None,
) -> Response:
    """Show the start form, or the learner's progress through the questions."""
    if learner is None:
        return start_page(request, session, next=safe_next(next))
    progress = progress_by_question(session, learner.id)
    rows = [(q, progress.get(str(q.id))) for q in bank.ordered()]
    answered = sum(1 for _, p in rows if p is not None)
    return render(request, "quiz/home.html", learner=learner, rows=rows, answered=answered)


def start_page(request: Request, session: Session, status: int = 200, **context: Any) -> Response:
    """Render the start page, saying why a browser that had a session no longer has one."""
    settings: Settings = request.app.state.settings
    if getattr(request.state, "session_ended", False):
        context.setdefault("notice", ENDED)
    elif session_cookie_invalid(request, settings):
        context.setdefault("notice", "Your session was not valid or had expired; sign in again.")
    legacy = legacy_learner_id(request)
    if legacy is not None:
        old = get_learner(session, legacy)
        identity = identity_of(session, legacy) if old is not None else None
        if old is not None and (identity is None or identity.code_hash is None):
            context["legacy_name"] = old.display_name  # offered a code: see new_code below
        else:
            request.session.pop(LEARNER_KEY, None)
            context.setdefault("notice", OLD_COOKIE)
    bank: QuestionBank = request.app.state.bank
    context["class_mode"] = get_class_settings(session).mode
    context["contents"] = bank.ordered()  # what the quiz holds, open to read, beside the form
    return render(request, "quiz/start.html", status=status, **context)


@router.post("/start", name="start")
def start(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    learner: LearnerDep,
    name: Annotated[str, Form(max_length=1000)],
    email: Annotated[str, Form(max_length=1000)] = "",
    join_code: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Create a learner and show their sign-in code once; limited per address."""
    if learner is not None and name_key(name.strip()) == learner.name_key:
        return redirect(request, safe_next(next), f"Welcome back, {learner.display_name}.")
    try:
        signed = sign_up(
            database,
            settings,
            name,
            email,
            client_address(request),
            learner_session_token(request),
            join_code,
        )
    except (InvalidText, RateLimited) as problem:
        status, message, headers = refusal(problem)
        if isinstance(problem, NameTaken):
            status = 409
        with database.reading() as session:
            response = start_page(
                request,
                session,
                status,
                error=message,
                name=name,
                email=email,
                join_code=join_code,
                next=safe_next(next),
            )
        response.headers.update(headers)
        return response
    assert signed.token is not None and signed.code is not None
    keep_learner_session(request, signed.token)
    return _code_page(request, signed.name, signed.code, safe_next(next), first=True)


@router.get("/continue", name="continue_form")
def continue_form(
    request: Request,
    name: Annotated[str, Query(max_length=1000)] = "",
    code: Annotated[str, Query(max_length=1000)] = "",
    next: str | None = None,
) -> Response:
    """Show the form to continue with a name and code, filled in from a bookmarked link."""
    response = render(request, "quiz/continue.html", name=name, code=code, next=safe_next(next))
    response.headers["Referrer-Policy"] = "no-referrer"  # the link carries the code
    return response


@router.post("/continue", name="continue")
def continue_as(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=1000)],
    code: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Sign a returning learner in with their name and code; wrong codes are limited."""
    problem: InvalidText | RateLimited | None = None
    try:
        signed = sign_in(
            database, settings, name, code, client_address(request), learner_session_token(request)
        )
    except (InvalidText, RateLimited) as error:
        problem, signed = error, None
    if signed is None or signed.token is None:
        status, message, headers = refusal(problem) if problem else (401, WRONG_CODE, {})
        response = render(
            request, "quiz/continue.html", status, error=message, name=name, next=safe_next(next)
        )
        response.headers.update(headers)
        return response
    keep_learner_session(request, signed.token)
    return redirect(request, safe_next(next), f"Welcome back, {signed.name}.")


@router.post("/code", name="new_code")
def new_code(request: Request, database: DatabaseDep) -> Response:
    """Give a learner whose cookie predates sign-in codes their code, once, and a session.

    Only a learner with no code yet: after this, any other copy of that old cookie is
    refused, and the name and code are the way back in.
    """
    legacy = legacy_learner_id(request)
    request.session.pop(LEARNER_KEY, None)
    if legacy is None:
        return redirect(request, "/", "Sign in with your name and code.")
    signed = reissue(database, legacy, for_learner=True)
    if signed is None or signed.token is None or signed.code is None:
        return redirect(request, "/", OLD_COOKIE)
    keep_learner_session(request, signed.token)
    return _code_page(request, signed.name, signed.code, "/", first=False)


def _code_page(request: Request, name: str, code: str, next: str, first: bool) -> Response:
    """Show a learner their code once, with a link that carries it, to bookmark."""
    link = str(request.url_for("continue_form").include_query_params(name=name, code=code))
    response = render(
        request, "quiz/code.html", name=name, code=code, link=link, next=next, first=first
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/leave", name="leave")
def leave(request: Request, database: DatabaseDep) -> Response:
    """End the learner's session on the server, so no copy of the cookie works, and forget it."""
    token = request.session.get(SESSION_KEY)
    if isinstance(token, str):
        with database.writing() as session:
            end_session(session, token)
    request.session.clear()
    return redirect(request, "/")

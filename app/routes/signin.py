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
from app.config import Settings
from app.learners import (
    WRONG_CODE,
    NameTaken,
    create_learner,
    end_session,
    get_learner,
    identity_of,
    issue_code,
    open_session,
    sign_in_with_code,
)
from app.models import Learner
from app.ratelimit import Bucket, RateLimited, check
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
    legacy_learner_id,
    session_cookie_invalid,
)
from app.web.errors import refusal
from app.web.pages import redirect, render, safe_next

router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)  # pages
TOO_MANY_STARTS = "Too many sign-ins from this address; try again in {seconds} s."
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
    return render(request, "quiz/start.html", status=status, **context)


@router.post("/start", name="start")
def start(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    learner: LearnerDep,
    name: Annotated[str, Form(max_length=1000)],
    email: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Create a learner and show their sign-in code once; limited per address."""
    if learner is not None and name_key(name.strip()) == learner.name_key:
        return redirect(request, safe_next(next), f"Welcome back, {learner.display_name}.")
    by_address = Bucket("start-address", client_address(request), settings.start_limit_per_address)
    problem: InvalidText | RateLimited | None = None
    try:
        with database.writing() as session:
            check(session, by_address, refusal=TOO_MANY_STARTS)
            try:
                created, code = create_learner(session, name, email)
                token = open_session(session, created.id)
                old = request.session.get(SESSION_KEY)
                if isinstance(old, str):
                    end_session(session, old)  # this browser now belongs to someone new
            except InvalidText as error:
                problem = error  # committed with its count: a name refused as taken is a guess
    except RateLimited as error:
        problem = error
    if problem is not None:
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
                next=safe_next(next),
            )
        response.headers.update(headers)
        return response
    _keep_session(request, token)
    return _code_page(request, created.display_name, code, safe_next(next), first=True)


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
    address = client_address(request)
    by_address = Bucket("start-address", address, settings.start_limit_per_address)
    found: Learner | None = None
    problem: InvalidText | RateLimited | None = None
    try:
        with database.writing() as session:
            check(session, by_address, refusal=TOO_MANY_STARTS)
            try:
                found = sign_in_with_code(session, settings, name, code, address)
            except InvalidText as error:
                problem = error
            if found is not None:
                old = request.session.get(SESSION_KEY)
                if isinstance(old, str):
                    end_session(session, old)  # rotate: a pre-sign-in token is never reused
                token = open_session(session, found.id)
    except RateLimited as error:
        problem = error
    if found is None:
        status, message, headers = refusal(problem) if problem else (401, WRONG_CODE, {})
        response = render(
            request, "quiz/continue.html", status, error=message, name=name, next=safe_next(next)
        )
        response.headers.update(headers)
        return response
    _keep_session(request, token)
    return redirect(request, safe_next(next), f"Welcome back, {found.display_name}.")


@router.post("/code", name="new_code")
def new_code(request: Request, database: DatabaseDep) -> Response:
    """Give a learner whose cookie predates sign-in codes their code, once, and a session.

    Only a learner with no code yet: after this, any other copy of that old cookie is
    refused, and the name and code are the way back in.
    """
    legacy = legacy_learner_id(request)
    if legacy is None:
        return redirect(request, "/", "Sign in with your name and code.")
    with database.writing() as session:
        learner = get_learner(session, legacy)
        identity = identity_of(session, legacy) if learner is not None else None
        if learner is None or (identity is not None and identity.code_hash is not None):
            learner = None
        else:
            code = issue_code(session, learner)
            token = open_session(session, learner.id)
            name = learner.display_name
    request.session.pop(LEARNER_KEY, None)
    if learner is None:
        return redirect(request, "/", OLD_COOKIE)
    _keep_session(request, token)
    return _code_page(request, name, code, "/", first=False)


def _keep_session(request: Request, token: str) -> None:
    """Put a fresh session's token in the signed cookie, dropping an old-style learner id."""
    request.session.pop(LEARNER_KEY, None)
    request.session[SESSION_KEY] = token


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

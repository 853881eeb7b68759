"""Instructor sign-in, sign-out, first-account setup and password change."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.instructors import (
    authenticate,
    change_password,
    consume_setup_token,
    create_instructor,
    end_session,
    has_instructor,
    setup_token_valid,
    start_session,
)
from app.ratelimit import forget_failures, login_wait_seconds, record_failure
from app.validation import InvalidText
from app.web.auth import (
    INSTRUCTOR_COOKIE,
    InstructorDep,
    MaybeInstructorDep,
    set_instructor_cookie,
)
from app.web.csrf import require_csrf
from app.web.deps import DatabaseDep, SettingsDep, client_address

router = APIRouter(prefix="/instructor", dependencies=[Depends(require_csrf)])
WRONG = "Wrong email or password."
Text = Annotated[str, Form(max_length=2000)]


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """Render an instructor page that never lands in a shared cache."""
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("flash", request.session.pop("flash", None))
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(url: str | None) -> str:
    """Allow only local instructor paths as the page to return to."""
    if url and url.startswith("/instructor") and "//" not in url and "\\" not in url:
        return url
    return "/instructor/"


@router.get("/login", include_in_schema=False)
def login_form(request: Request, instructor: MaybeInstructorDep, next: str = "") -> Response:
    """Show the sign-in form."""
    if instructor is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return page(request, "instructor/login.html", next=safe_next(next), email="")


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    email: Text,
    password: Text,
    next: Text = "",
) -> Response:
    """Check the password, rate-limited per account and address; rotate the session."""
    account, address = email.strip().lower(), client_address(request)
    with database.writing() as session:
        wait = login_wait_seconds(session, settings, account, address)
        instructor = None if wait else authenticate(session, account, password)
        if instructor is None and not wait:
            record_failure(session, account, address)
        elif instructor is not None:
            forget_failures(session, account)
            old = request.cookies.get(INSTRUCTOR_COOKIE)
            if old:
                end_session(session, old)  # rotate: the pre-login id is never reused
            token = start_session(session, instructor)
    if wait:
        minutes = max(1, round(wait / 60))
        message = f"Too many failed sign-ins. Try again in about {minutes} minute(s)."
        response = page(
            request, "instructor/login.html", 429, error=message, email=email, next=safe_next(next)
        )
        response.headers["Retry-After"] = str(wait)
        return response
    if instructor is None:
        return page(
            request, "instructor/login.html", 401, error=WRONG, email=email, next=safe_next(next)
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_instructor_cookie(response, token, settings)
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, database: DatabaseDep) -> Response:
    """End the session on the server, then forget the cookie."""
    token = request.cookies.get(INSTRUCTOR_COOKIE)
    if token:
        with database.writing() as session:
            end_session(session, token)
    request.session["flash"] = "You are signed out."
    response = RedirectResponse("/instructor/login", status_code=303)
    response.delete_cookie(INSTRUCTOR_COOKIE, path="/")
    return response


@router.get("/setup", include_in_schema=False)
def setup_form(request: Request, database: DatabaseDep, token: str = "") -> Response:
    """Show the first-account form, if the one-time link is still good."""
    with database.reading() as session:
        problem = _setup_problem(session, token)
    if problem:
        return page(request, "instructor/setup.html", 403, error=problem, token="", usable=False)
    return page(request, "instructor/setup.html", token=token, usable=True, email="")


def _setup_problem(session: Any, token: str) -> str | None:
    if has_instructor(session):
        return "An instructor account already exists: sign in instead."
    if not token or len(token) > 200 or not setup_token_valid(session, token):
        return "This setup link is invalid, used or expired. Restart `tfquiz serve` for a new one."
    return None


@router.post("/setup", include_in_schema=False)
def setup(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    token: Text,
    email: Text,
    password: Text,
    confirm: Text,
) -> Response:
    """Create the first instructor with a one-time token and sign them in."""
    try:
        with database.writing() as session:
            problem = _setup_problem(session, token)
            if problem:
                raise PermissionError(problem)
            if password != confirm:
                raise InvalidText("The two passwords differ.")
            instructor = create_instructor(session, email, password)
            consume_setup_token(session, token)
            session_token = start_session(session, instructor)
    except PermissionError as error:
        return page(request, "instructor/setup.html", 403, error=str(error), token="", usable=False)
    except InvalidText as error:
        return page(
            request,
            "instructor/setup.html",
            422,
            error=str(error),
            token=token,
            usable=True,
            email=email,
        )
    request.session["flash"] = "Your instructor account is ready."
    response = RedirectResponse("/instructor/", status_code=303)
    set_instructor_cookie(response, session_token, settings)
    return response


@router.get("/password", include_in_schema=False)
def password_form(request: Request, instructor: InstructorDep) -> Response:
    """Show the password change form."""
    return page(request, "instructor/password.html", instructor=instructor)


@router.post("/password", include_in_schema=False)
def password_change(
    request: Request,
    instructor: InstructorDep,
    database: DatabaseDep,
    settings: SettingsDep,
    current: Text,
    password: Text,
    confirm: Text,
) -> Response:
    """Change the password; every other session of the account ends."""
    try:
        with database.writing() as session:
            account = authenticate(session, instructor.email, current)
            if account is None:
                raise InvalidText("The current password is wrong.")
            if password != confirm:
                raise InvalidText("The two new passwords differ.")
            change_password(session, account, password)
            token = start_session(session, account)
    except InvalidText as error:
        return page(
            request, "instructor/password.html", 422, error=str(error), instructor=instructor
        )
    request.session["flash"] = "Password changed; your other sessions are signed out."
    response = RedirectResponse("/instructor/", status_code=303)
    set_instructor_cookie(response, token, settings)
    return response

"""Instructor sign-in, sign-out, first-account setup and password change."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.config import Settings
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
from app.ratelimit import Bucket, RateLimited, check, forget, record
from app.validation import InvalidText
from app.web.auth import (
    INSTRUCTOR_COOKIE,
    InstructorDep,
    MaybeInstructorDep,
    set_instructor_cookie,
)
from app.web.csrf import require_csrf
from app.web.deps import DatabaseDep, MetricsDep, SettingsDep, client_address
from app.web.errors import refusal
from app.web.pages import redirect, render, safe_next

router = APIRouter(prefix="/instructor", dependencies=[Depends(require_csrf)])
WRONG = "Wrong email or password."
TOO_MANY = "Too many failed sign-ins. Try again in about {minutes} minute(s)."
TOO_MANY_GUESSES = (
    "Too many wrong passwords from this address. Try again in about {minutes} minute(s)."
)
READY = "Your instructor account is ready."
CHANGED = "Password changed; your other sessions are signed out."
Text = Annotated[str, Field(max_length=2000)]


def back_to(url: str | None) -> str:
    """Return the instructor page to go back to after signing in: one of theirs, else home."""
    return safe_next(url, home="/instructor/", under="/instructor")


def login_buckets(settings: Settings, account: str, address: str) -> tuple[Bucket, Bucket]:
    """Return the windows that count failed password checks per account and address, and
    per address across accounts.

    Counted per (account, address), not per account: then failures from one client never
    lock the real instructor out from another, while each client still gets only a few
    guesses per account and, across accounts, a few more in all.
    """
    window = timedelta(minutes=settings.login_window_minutes)
    return (
        # The address first: a key cut at 200 characters still names the client.
        Bucket(
            "login-account-address", f"{address} {account}", settings.login_max_per_account, window
        ),
        Bucket("login-address", address, settings.login_max_per_address, window),
    )


def signed_in(
    request: Request, settings: Settings, token: str, url: str, flash: str | None = None
) -> Response:
    """Go on to ``url`` with the new session's cookie set."""
    response = redirect(request, url, flash)
    set_instructor_cookie(response, token, settings)
    return response


@router.get("/login", include_in_schema=False)
def login_form(request: Request, instructor: MaybeInstructorDep, next: str = "") -> Response:
    """Show the sign-in form."""
    if instructor is not None:
        return redirect(request, back_to(next))
    return render(request, "instructor/login.html", next=back_to(next), email="")


class LoginForm(BaseModel):
    """The sign-in form, and the instructor page to go back to."""

    email: Text
    password: Text
    next: Text = ""


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    form: Annotated[LoginForm, Form()],
) -> Response:
    """Check the password, rate-limited per account and address; rotate the session."""
    email, next = form.email, form.next
    account = email.strip().lower()
    by_account, by_address = login_buckets(settings, account, client_address(request))
    try:
        with database.writing() as session:
            check(session, by_account, by_address, refusal=TOO_MANY, count=False)
            instructor = authenticate(session, account, form.password)
            if instructor is None:
                record(session, by_account, by_address)
            else:
                forget(session, by_account)
                old = request.cookies.get(INSTRUCTOR_COOKIE)
                if old:
                    end_session(session, old)  # rotate: the pre-login id is never reused
                token = start_session(session, instructor)
    except RateLimited as limited:
        metrics.sign_in("rate_limited")
        status, message, headers = refusal(limited)
        response = render(
            request, "instructor/login.html", status, error=message, email=email, next=back_to(next)
        )
        response.headers.update(headers)
        return response
    if instructor is None:
        metrics.sign_in("failure")
        return render(
            request, "instructor/login.html", 401, error=WRONG, email=email, next=back_to(next)
        )
    metrics.sign_in("success")
    return signed_in(request, settings, token, back_to(next))


@router.post("/logout", include_in_schema=False)
def logout(request: Request, database: DatabaseDep) -> Response:
    """End the session on the server, then forget the cookie."""
    token = request.cookies.get(INSTRUCTOR_COOKIE)
    if token:
        with database.writing() as session:
            end_session(session, token)
    response = redirect(request, "/instructor/login", "You are signed out.")
    response.delete_cookie(INSTRUCTOR_COOKIE, path="/")
    return response


@router.get("/setup", include_in_schema=False)
def setup_form(request: Request, database: DatabaseDep, token: str = "") -> Response:
    """Show the first-account form, if the one-time link is still good."""
    with database.reading() as session:
        problem = _setup_problem(session, token)
    if problem:
        return render(request, "instructor/setup.html", 403, error=problem, token="", usable=False)
    return render(request, "instructor/setup.html", token=token, usable=True, email="")


def _setup_problem(session: Any, token: str) -> str | None:
    if has_instructor(session):
        return "An instructor account already exists: sign in instead."
    if not token or len(token) > 200 or not setup_token_valid(session, token):
        return "This setup link is invalid, used or expired. Restart `tfquiz serve` for a new one."
    return None


class SetupForm(BaseModel):
    """The first-account form: the one-time token, the email, and the password typed twice."""

    token: Text
    email: Text
    password: Text
    confirm: Text


class PasswordForm(BaseModel):
    """The password change form: the current password, and the new one typed twice."""

    current: Text
    password: Text
    confirm: Text


@router.post("/setup", include_in_schema=False)
def setup(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    form: Annotated[SetupForm, Form()],
) -> Response:
    """Create the first instructor with a one-time token and sign them in."""
    token = form.token
    try:
        with database.writing() as session:
            problem = _setup_problem(session, token)
            if problem:
                raise PermissionError(problem)
            if form.password != form.confirm:
                raise InvalidText("The two passwords differ.")
            instructor = create_instructor(session, form.email, form.password)
            consume_setup_token(session, token)
            session_token = start_session(session, instructor)
    except PermissionError as error:
        return render(
            request, "instructor/setup.html", 403, error=str(error), token="", usable=False
        )
    except InvalidText as error:
        return render(
            request,
            "instructor/setup.html",
            422,
            error=str(error),
            token=token,
            usable=True,
            email=form.email,
        )
    return signed_in(request, settings, session_token, "/instructor/", READY)


@router.get("/password", include_in_schema=False)
def password_form(request: Request, instructor: InstructorDep) -> Response:
    """Show the password change form."""
    return render(request, "instructor/password.html", instructor=instructor)


@router.post("/password", include_in_schema=False)
def password_change(
    request: Request,
    instructor: InstructorDep,
    database: DatabaseDep,
    settings: SettingsDep,
    form: Annotated[PasswordForm, Form()],
) -> Response:
    """Change the password; guesses of the current one are limited like sign-ins.

    A stolen session must not become an unlimited oracle for the password, so a wrong
    current password counts in the same windows as a failed sign-in.
    """
    buckets = login_buckets(settings, instructor.email, client_address(request))
    try:
        with database.writing() as session:
            check(session, *buckets, refusal=TOO_MANY_GUESSES, count=False)
            account = authenticate(session, instructor.email, form.current)
            if account is None:
                record(session, *buckets)  # committed: the refusal below must not undo it
            elif form.password == form.confirm:
                change_password(session, account, form.password)
                forget(session, buckets[0])  # the owner: their earlier slips are forgiven
                token = start_session(session, account)
    except (InvalidText, RateLimited) as error:
        status, message, headers = refusal(error)
        response = render(
            request, "instructor/password.html", status, error=message, instructor=instructor
        )
        response.headers.update(headers)
        return response
    if account is None or form.password != form.confirm:
        wrong = (
            "The current password is wrong." if account is None else "The two new passwords differ."
        )
        return render(request, "instructor/password.html", 422, error=wrong, instructor=instructor)
    return signed_in(request, settings, token, "/instructor/", CHANGED)

"""Who the instructor is: the server-side session behind the instructor cookie.

Every instructor page and API route depends on ``require_instructor``: pages redirect an
anonymous or learner visitor to the sign-in page, the API answers 401.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from app.config import Settings
from app.db import Database
from app.instructors import resolve_session, touch_due
from app.models import Instructor, InstructorSession, utc_now
from app.web.deps import DatabaseDep, SettingsDep

INSTRUCTOR_COOKIE = "tfquiz_instructor"


class SignInRequired(Exception):
    """Raised when a route needs an instructor and the request has none."""


def current_instructor(
    request: Request, database: DatabaseDep, settings: SettingsDep
) -> Instructor | None:
    """Return the signed-in instructor, refreshing the session's last-seen time."""
    if hasattr(request.state, "instructor"):
        found: Instructor | None = request.state.instructor
        return found
    request.state.instructor = _lookup(request.cookies.get(INSTRUCTOR_COOKIE), database, settings)
    return request.state.instructor  # type: ignore[no-any-return]


def _lookup(token: str | None, database: Database, settings: Settings) -> Instructor | None:
    if not token or len(token) > 200:
        return None
    idle = timedelta(minutes=settings.instructor_idle_minutes)
    absolute = timedelta(hours=settings.instructor_session_hours)
    with database.reading() as session:
        found = resolve_session(session, token, idle, absolute)
        if found is None:
            return None
        instructor, row = found
        stale = touch_due(row, utc_now())
    if stale:
        with database.writing() as session:
            live = session.get(InstructorSession, row.id_hash)
            if live is not None:
                live.last_seen_at = utc_now()
    return instructor


async def require_instructor(
    instructor: Annotated[Instructor | None, Depends(current_instructor)],
) -> Instructor:
    """Return the instructor, or refuse: 401 for the API, a sign-in redirect for pages."""
    if instructor is None:
        raise SignInRequired
    return instructor


InstructorDep = Annotated[Instructor, Depends(require_instructor)]
MaybeInstructorDep = Annotated[Instructor | None, Depends(current_instructor)]


def set_instructor_cookie(response: Response, token: str, settings: Settings) -> None:
    """Send the session id in an HttpOnly, SameSite=Lax cookie (Secure behind TLS)."""
    response.set_cookie(
        INSTRUCTOR_COOKIE,
        token,
        max_age=settings.instructor_session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def sign_in_url(request: Request) -> str:
    """Return the sign-in page that comes back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/instructor/login?next={quote(here)}"

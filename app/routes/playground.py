"""The instructor playground: edit a demo and run the edited code live, in the sandbox.

Every route needs an instructor session and the CSRF token (router dependencies), and the
playground turned on: learners and anonymous visitors never send code that runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.db import Database
from app.demos.playground import (
    MAX_CODE_CHARS,
    OFF_MESSAGE,
    RECENT,
    InvalidCode,
    PlaygroundResult,
    Refused,
    clean_code,
    recent_runs,
    run_edited,
)
from app.demos.protocol import DemoRunner, PoolBusy
from app.models import Instructor
from app.ratelimit import RateLimited
from app.schema import Demo, Question
from app.web.auth import InstructorDep, require_instructor
from app.web.csrf import require_csrf
from app.web.deps import (
    DatabaseDep,
    DemoDep,
    PoolDep,
    QuestionDep,
    ReadSession,
    SettingsDep,
    client_address,
)
from app.web.errors import refusal
from app.web.pages import render, view_demo

NEEDS_BWRAP = (
    "The playground runs edited code only in the bubblewrap sandbox, and this server's demos "
    "run without it ({mode}). To use the playground, install bubblewrap (apt-get install "
    "bubblewrap) and restart the server; see docs/security.md."
)


def unconfined(pool: DemoRunner) -> str | None:
    """Say why edited code must not run on this pool: its workers are not in bwrap."""
    mode = pool.state.get("sandbox")  # None: no worker will start, and the run says why
    if mode is None or str(mode).startswith("bwrap"):
        return None
    return NEEDS_BWRAP.format(mode=mode)


def require_playground(settings: SettingsDep) -> None:
    """Answer 404 saying how to turn the playground on, when it is off."""
    if not settings.playground:
        raise HTTPException(404, detail=OFF_MESSAGE)


router = APIRouter(
    dependencies=[Depends(require_instructor), Depends(require_csrf), Depends(require_playground)]
)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in as an instructor"},
    403: {"description": "The CSRF token (X-CSRF-Token header) is missing or wrong"},
    404: {"description": "No such question or demo, or the playground is turned off"},
    422: {"description": "The code is empty, too long or holds a NUL character"},
    429: {"description": "Too many playground runs; see Retry-After"},
    503: {"description": "No demo worker is free or running, or none runs in bwrap"},
}


class PlaygroundRequest(BaseModel):
    """Edited code to run in place of a demo's own."""

    code: str = Field(description=f"The snippet, at most {MAX_CODE_CHARS:,} characters.")


@router.get("/instructor/playground/{n}/{k}", include_in_schema=False)
def playground_render(
    request: Request,
    instructor: InstructorDep,
    question: QuestionDep,
    demo: DemoDep,
    session: ReadSession,
    pool: PoolDep,
) -> Response:
    """Show a demo's code in an editor with a Run button, and its recent playground runs."""
    context = _context(session, pool, question, demo, demo.code)
    return render(request, "instructor/playground.html", instructor=instructor, **context)


@dataclass(frozen=True, slots=True)
class EditedRun:
    """All a playground run needs but the code: who asks, from where, for which demo, on what."""

    instructor: Instructor
    address: str
    question: Question
    demo: Demo
    pool: DemoRunner
    database: Database

    def __call__(self, code: str) -> PlaygroundResult:
        """Run checked code (clean_code) in place of the demo's own."""
        return run_edited(
            self.pool,
            self.database,
            self.instructor,
            self.address,
            self.question,
            self.demo,
            code,
        )


def edited_run(
    request: Request,
    instructor: InstructorDep,
    question: QuestionDep,
    demo: DemoDep,
    pool: PoolDep,
    database: DatabaseDep,
) -> EditedRun:
    """Gather what a run of edited code needs from the request; refuse outside bwrap."""
    if problem := unconfined(pool):
        raise HTTPException(503, detail=problem)
    return EditedRun(instructor, client_address(request), question, demo, pool, database)


EditedRunDep = Annotated[EditedRun, Depends(edited_run)]


@router.post("/instructor/playground/{n}/{k}", include_in_schema=False)
def playground_run_form(
    request: Request, run: EditedRunDep, code: Annotated[str, Form()] = ""
) -> Response:
    """Run the edited code from the form (no JavaScript needed) and show its output."""
    status, error = 200, None
    headers: dict[str, str] = {}
    result: PlaygroundResult | None = None
    try:
        code = clean_code(code)
        result = run(code)
    except (InvalidCode, RateLimited, PoolBusy) as refused:
        status, error, headers = refusal(refused)
    except Refused as refused:
        status, error = refused.status_code, refused.message
    with run.database.reading() as session:
        context = _context(session, run.pool, run.question, run.demo, code, result)
    response = render(
        request,
        "instructor/playground.html",
        status,
        instructor=run.instructor,
        error=error,
        **context,
    )
    response.headers.update(headers)
    return response


@router.post(
    "/api/instructor/playground/{n}/{k}/run",
    response_model=PlaygroundResult,
    responses=ERRORS,
    tags=["instructor"],
)
def playground_run_api(run: EditedRunDep, body: PlaygroundRequest) -> PlaygroundResult:
    """Run edited code in place of a demo's own, in the demo sandbox; never cached."""
    try:
        return run(clean_code(body.code))
    except InvalidCode as invalid:
        raise HTTPException(422, detail=str(invalid)) from None
    except Refused as refused:
        raise HTTPException(refused.status_code, detail=refused.message) from None


def _context(
    session: Session,
    pool: DemoRunner,
    question: Question,
    demo: Demo,
    code: str,
    result: PlaygroundResult | None = None,
) -> dict[str, Any]:
    """Prepare what the playground page shows."""
    settings = pool.settings
    return {
        "question": question,
        "demo": view_demo(demo, result),
        "code": code,
        "edited": code != demo.code,
        "rows": min(40, max(8, code.count("\n") + 2)),
        "max_chars": MAX_CODE_CHARS,
        "runs": recent_runs(session, question, demo),
        "recent": RECENT,
        "unconfined": unconfined(pool),
        "limits": {
            "sandbox": pool.state.get("sandbox") or settings.demo_sandbox,
            "timeout_s": settings.demo_timeout_s,
            "max_output_bytes": settings.demo_max_output_bytes,
            "per_minute": settings.playground_limit_per_minute,
        },
    }

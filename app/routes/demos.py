"""Live TensorFlow demos: cached and live runs, a streaming variant, and the presenter page.

Only snippets defined in question files run here: requests name a question and a demo,
never code.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from app.db import Database
from app.demos.protocol import DemoRunner, PoolBusy
from app.demos.runs import DemoResult, find_cached, find_cached_all, run_live
from app.ratelimit import take
from app.schema import Demo, Question
from app.web.csrf import csrf_token, require_csrf
from app.web.deps import (
    BankDep,
    DatabaseDep,
    LearnerDep,
    PoolDep,
    QuestionDep,
    ReadSession,
    client_address,
)
from app.web.errors import documented
from app.web.rendering import render_code, render_markdown
from app.web.responses import model_response

router = APIRouter()
ERRORS = documented(404, 413, 422, 429, 503)


async def demo_by_index(question: QuestionDep, k: int) -> Demo:
    """Return demo ``k`` (1-based) of the question, or answer 404 saying which exist."""
    if 1 <= k <= len(question.demos):
        return question.demos[k - 1]
    count = len(question.demos)
    detail = f"Question {question.number} has no demo {k}; it has demos 1 to {count}."
    raise HTTPException(404, detail=detail)


DemoDep = Annotated[Demo, Depends(demo_by_index)]


def live(
    request: Request, pool: DemoRunner, database: Database, question: Question, demo: Demo
) -> DemoResult:
    """Run a demo live, turning a full queue, a rate limit or no workers into 503/429."""
    limit_live_runs(request, database)
    try:
        result = run_live(pool, database, question, demo)
    except PoolBusy as error:
        raise busy(error) from None
    if result.status == "unavailable":
        raise HTTPException(503, detail=result.message or "Live demos are unavailable.")
    return result


def limit_live_runs(request: Request, database: Database) -> None:
    """Refuse a live run past the per-session or per-address limit, with 429 and Retry-After."""
    settings = request.app.state.settings
    minute = timedelta(minutes=1)
    browser = csrf_token(request)  # a stable random id per browser session
    with database.writing() as session:
        wait = take(
            session, "demo-session", browser, settings.demo_limit_per_session, minute
        ) or take(
            session,
            "demo-address",
            client_address(request),
            settings.demo_limit_per_address,
            minute,
        )
    if wait:
        raise HTTPException(
            429,
            detail=f"Too many live demo runs; try again in {wait} s (cached results stay open).",
            headers={"Retry-After": str(wait)},
        )


def busy(error: PoolBusy) -> HTTPException:
    """Turn a full queue into 503 with Retry-After."""
    return HTTPException(
        503,
        detail=f"Every demo worker is busy; try again in {error.retry_after} s.",
        headers={"Retry-After": str(error.retry_after)},
    )


@router.get(
    "/api/questions/{n}/demos/{k}", response_model=DemoResult, responses=ERRORS, tags=["demos"]
)
def cached_demo(
    question: QuestionDep, demo: DemoDep, session: ReadSession, pool: PoolDep
) -> Response:
    """Return the cached result of a demo; a GET never runs code, a POST to ``/run`` does."""
    cached = find_cached(session, question, demo, pool.state.get("device_kind"))
    if cached is None:
        detail = (
            f"Demo {demo.index} of question {question.number}: not run yet on this server;"
            f" POST /api/questions/{question.number}/demos/{demo.index}/run runs it."
        )
        raise HTTPException(404, detail=detail)
    return model_response(cached)


@router.post(
    "/api/questions/{n}/demos/{k}/run",
    response_model=DemoResult,
    responses=ERRORS,
    tags=["demos"],
)
def run_demo(
    request: Request, question: QuestionDep, demo: DemoDep, pool: PoolDep, database: DatabaseDep
) -> Response:
    """Run a demo live on a warm worker and return its output."""
    return model_response(live(request, pool, database, question, demo))


@router.post(
    "/api/questions/{n}/demos/{k}/run/stream",
    responses=ERRORS,
    tags=["demos"],
    response_class=StreamingResponse,
)
def stream_demo(
    request: Request, question: QuestionDep, demo: DemoDep, pool: PoolDep, database: DatabaseDep
) -> StreamingResponse:
    """Run a demo live, streaming its output as server-sent events, then the result.

    Events: `output` (`{"stream": "stdout"|"stderr", "text": ...}`) as the snippet prints,
    then one `result` (the same object as the non-streaming endpoint), or `busy`.
    """
    limit_live_runs(request, database)
    events: queue.Queue[tuple[str, Any] | None] = queue.Queue()

    def produce() -> None:
        try:
            result = run_live(
                pool,
                database,
                question,
                demo,
                on_output=lambda stream, text: events.put(
                    ("output", {"stream": stream, "text": text})
                ),
            )
            events.put(("result", result.model_dump(mode="json")))
        except PoolBusy as error:
            events.put(("busy", {"detail": str(error), "retry_after": error.retry_after}))
        finally:
            events.put(None)

    threading.Thread(target=produce, daemon=True, name="demo-stream").start()

    def sse() -> Iterator[str]:
        yield ": running\n\n"
        while (event := events.get()) is not None:
            name, data = event
            yield f"event: {name}\ndata: {json.dumps(data)}\n\n"

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(sse(), media_type="text/event-stream", headers=headers)


@router.post(
    "/questions/{n}/demos/{k}/run", include_in_schema=False, dependencies=[Depends(require_csrf)]
)
def run_demo_form(
    request: Request, question: QuestionDep, demo: DemoDep, pool: PoolDep, database: DatabaseDep
) -> Response:
    """Run a demo from a plain form (no JavaScript), then go back to it."""
    live(request, pool, database, question, demo)
    return RedirectResponse(f"/questions/{question.number}?demos=open#demo-{demo.index}", 303)


@router.get("/questions/{n}/demos/{k}/panel", include_in_schema=False)
def demo_panel(
    request: Request,
    question: QuestionDep,
    demo: DemoDep,
    session: ReadSession,
    pool: PoolDep,
    fresh: bool = False,
) -> Response:
    """Render one demo's output panel, for the page script to swap in after a live run."""
    templates: Jinja2Templates = request.app.state.templates
    result = find_cached(session, question, demo, pool.state.get("device_kind"))
    if result is not None and fresh:
        result.cached = False  # the script asks right after the live run it showed
    context = {"question": question, "demo": view_demo(demo, result)}
    return templates.TemplateResponse(request, "demos/_output.html", context)


@router.get("/present", include_in_schema=False)
def presenter(
    request: Request, bank: BankDep, session: ReadSession, pool: PoolDep, learner: LearnerDep
) -> Response:
    """List every demo with a Run button, for use in class."""
    templates: Jinja2Templates = request.app.state.templates
    sections = [(question, demos_for(question, session, pool)) for question in bank.ordered()]
    context = {"sections": sections, "pool": pool.state, "learner": learner}
    return templates.TemplateResponse(request, "demos/present.html", context)


def view_demo(demo: Demo, result: DemoResult | None) -> dict[str, Any]:
    """Prepare what a demo card shows."""
    return {
        "index": demo.index,
        "title": demo.title,
        "intro": render_markdown(demo.intro_markdown) if demo.intro_markdown else "",
        "code": render_code(demo.code),
        "devices": demo.devices,
        "result": result,
    }


def demos_for(question: Question, session: Session, pool: DemoRunner) -> list[dict[str, Any]]:
    """Prepare every demo card of a question, with cached results where there are some."""
    cached = find_cached_all(session, question, question.demos, pool.state.get("device_kind"))
    return [view_demo(demo, cached[demo.index]) for demo in question.demos]

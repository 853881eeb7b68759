"""Live TensorFlow demos: cached and live runs, and a streaming variant.

Only snippets defined in question files run here: requests name a question and a demo,
never code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from app.db import Database
from app.demos.coalesce import Coalescer, OnEvent, Place
from app.demos.protocol import DemoRunner, PoolBusy
from app.demos.runs import DemoResult, count_live_run, find_cached, run_live, snippet_hash
from app.ratelimit import InFlight
from app.schema import Demo, Question
from app.web.csrf import CSRF_KEY, csrf_token, require_csrf
from app.web.deps import (
    DatabaseDep,
    DemoDep,
    PoolDep,
    QuestionDep,
    ReadSession,
    client_address,
)
from app.web.errors import documented
from app.web.pages import view_demo
from app.web.responses import model_response

router = APIRouter()
T = TypeVar("T")
ERRORS = documented(404, 413, 422, 429, 503)


IN_FLIGHT = (
    "You already have {cap} live demo runs in progress; wait for one to finish"
    " (cached results stay open)."
)


def live(
    request: Request,
    pool: DemoRunner,
    database: Database,
    question: Question,
    demo: Demo,
    on_event: OnEvent | None = None,
) -> DemoResult:
    """Run a demo live, or join the same run already under way; 429, 503 as for a run."""
    place, client = enter_live_run(request, pool, database, demo)
    result = place.run(live_work(pool, database, question, demo, client), on_event)
    if result.status == "unavailable":
        raise HTTPException(503, detail=result.message or "Live demos are unavailable.")
    return result


def live_work(
    pool: DemoRunner, database: Database, question: Question, demo: Demo, client: str
) -> Callable[[OnEvent], DemoResult]:
    """The run a leader does, telling its place in the queue and its output as events."""

    def work(emit: OnEvent) -> DemoResult:
        def queued(ahead: int | None) -> None:
            emit(*(("running", {}) if ahead is None else ("queued", {"ahead": ahead})))

        def output(stream: str, text: str) -> None:
            emit("output", {"stream": stream, "text": text})

        return run_live(pool, database, question, demo, output, client, queued)

    return work


async def in_demo_thread(request: Request, call: Callable[[], T]) -> T:
    """Wait for a live run in a thread of the demo runs' own, not the app's shared pool.

    A run may wait in the queue for a minute: a class's worth of them waiting in the
    thread pool every other request is served from would hold every page back.
    """
    limiter: CapacityLimiter | None = getattr(request.app.state, "demo_threads", None)
    if limiter is None:  # made here, in the event loop (anyio makes its limiters in one)
        settings = request.app.state.settings
        limiter = CapacityLimiter(settings.demo_queue_size + settings.demo_workers + 8)
        request.app.state.demo_threads = limiter
    return await anyio.to_thread.run_sync(call, limiter=limiter)


def enter_live_run(
    request: Request, pool: DemoRunner, database: Database, demo: Demo
) -> tuple[Place[DemoResult], str]:
    """Count the run per minute, then lead a new run of the demo or join the one under way.

    Every request is counted per minute, a joiner too: it is a request for a run. Only a
    leader takes one of its client's in-flight slots, since a joiner adds no work for the
    workers (it waits on a run someone else is having done), so pressing Run on a demo
    the class is already running is never refused for the slots. The per-minute counts are
    per browser and address, but a client without cookies is a new browser on every
    request, and runs are long: the slot, held until the run ends, caps how many workers
    one client keeps busy or waiting at once. A client is the browser session it came back
    with, else its address: a class behind one NAT is many browsers, each with its own
    share, while a client that drops its cookie shares one with its address.
    """
    address = client_address(request)
    returning = request.session.get(CSRF_KEY)  # read before csrf_token() makes a new one
    client = f"browser {returning}" if isinstance(returning, str) else f"address {address}"
    # The CSRF token is a stable random id per browser session.
    count_live_run(database, request.app.state.settings, csrf_token(request), address)
    slots: InFlight = request.app.state.demo_slots
    coalescer: Coalescer[DemoResult] = request.app.state.demo_runs
    key = (snippet_hash(demo), pool.state.get("device_kind"))
    return coalescer.enter(key, lambda: slots.take(client, IN_FLIGHT).release), client


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
async def run_demo(
    request: Request, question: QuestionDep, demo: DemoDep, pool: PoolDep, database: DatabaseDep
) -> Response:
    """Run a demo live on a warm worker and return its output."""
    result = await in_demo_thread(request, lambda: live(request, pool, database, question, demo))
    return model_response(result)


@router.post(
    "/api/questions/{n}/demos/{k}/run/stream",
    responses=ERRORS,
    tags=["demos"],
    response_class=StreamingResponse,
)
async def stream_demo(
    request: Request, question: QuestionDep, demo: DemoDep, pool: PoolDep, database: DatabaseDep
) -> StreamingResponse:
    """Run a demo live, streaming its output as server-sent events, then the result.

    Events: `queued` (`{"ahead": n}`: runs that get a worker before this one) while the
    run waits, sent again as it moves up; `running` (`{}`) when a worker takes it; `output`
    (`{"stream": "stdout"|"stderr", "text": ...}`) as the snippet prints; then one `result`
    (the same object as the non-streaming endpoint), or `busy`. A request for a demo whose
    run is already under way joins that run: it is sent its newest `queued` or `running`
    and the output so far, then the rest, and the same result.
    """
    place, client = await run_in_threadpool(enter_live_run, request, pool, database, demo)
    # The stream waits in the event loop, not in a thread: a class's worth of streams each
    # holding one of the app's threads while they wait would leave none for the pages.
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()

    def put(event: tuple[str, Any] | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
            loop.call_soon_threadsafe(events.put_nowait, event)

    def produce() -> None:
        try:
            result = place.run(
                live_work(pool, database, question, demo, client),
                lambda name, data: put((name, data)),
            )
            put(("result", result.model_dump(mode="json")))
        except PoolBusy as error:
            put(("busy", {"detail": str(error), "retry_after": error.retry_after}))
        finally:
            put(None)  # the run is over, whether or not anyone still reads the stream

    try:
        threading.Thread(target=produce, daemon=True, name="demo-stream").start()
    except BaseException as error:
        place.fail(error)  # a leader that never runs must not leave its joiners waiting
        raise

    async def sse() -> AsyncIterator[str]:
        yield ": running\n\n"
        while (event := await events.get()) is not None:
            name, data = event
            yield f"event: {name}\ndata: {json.dumps(data)}\n\n"

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(sse(), media_type="text/event-stream", headers=headers)


@router.post(
    "/questions/{n}/demos/{k}/run", include_in_schema=False, dependencies=[Depends(require_csrf)]
)
async def run_demo_form(
    request: Request, question: QuestionDep, demo: DemoDep, pool: PoolDep, database: DatabaseDep
) -> Response:
    """Run a demo from a plain form (no JavaScript), then go back to it."""
    await in_demo_thread(request, lambda: live(request, pool, database, question, demo))
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
    templates: Jinja2Templates = request.app.state.templates  # a fragment: no flash to show
    result = find_cached(session, question, demo, pool.state.get("device_kind"))
    if result is not None and fresh:
        result.cached = False  # the script asks right after the live run it showed
    context = {"question": question, "demo": view_demo(demo, result)}
    return templates.TemplateResponse(request, "demos/_output.html", context)

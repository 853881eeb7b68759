"""Live rounds on the web: open one, the presenter's live view, the screen, joining, export.

The presenter's laptop shows the live view (figures, and a picker of anonymised answers);
the projector shows the screen view, which carries only the answers picked to show. Both
update from server-sent events: the stream reads a cheap change mark every second and
sends the figures only when it moved, with a heartbeat between.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.db import Database
from app.exports import csv_chunks, export_filename
from app.models import Instructor, LiveRound
from app.questions import QuestionBank
from app.rounds import (
    EXPORT_HEADERS,
    RoundFigures,
    RoundRefused,
    change_mark,
    close_round,
    export_document,
    export_rows,
    find_open,
    open_round,
    past_rounds,
    record_demo_run,
    round_figures,
    set_pick,
)
from app.schema import Question
from app.web.auth import InstructorDep, require_instructor
from app.web.csrf import require_csrf
from app.web.deps import BankDep, DatabaseDep, LearnerDep, ReadSession, RowId, RowIdField
from app.web.errors import INSTRUCTOR_API_ERRORS
from app.web.pages import get_or_404, redirect, render
from app.web.qr import qr_svg
from app.web.rendering import render_markdown

router = APIRouter(dependencies=[Depends(require_instructor), Depends(require_csrf)])
public = APIRouter()
POLL_S = 1.0
HEARTBEAT_S = 15.0
STREAM_MAX_S = 1800.0  # the browser's EventSource reconnects after this
View = Literal["live", "screen"]


class OpenForm(BaseModel):
    """The question to open a round on, by number."""

    number: int = Field(ge=1, le=10_000)


class PickForm(BaseModel):
    """An answer to show on the screen, or to hide again."""

    attempt: RowIdField
    shown: Literal["yes", "no"]


class DemoForm(BaseModel):
    """The demo of the round's question to run for the room."""

    k: int = Field(ge=1, le=1000)


def _question(bank: QuestionBank, live: LiveRound) -> Question | None:
    """Return the round's question by its uuid; None if its file has gone."""
    return bank.by_id(live.question_id)


def _join_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/round"


def _context(
    request: Request, session: Session, bank: QuestionBank, live: LiveRound
) -> dict[str, Any]:
    """Prepare what a round's pages show."""
    question = _question(bank, live)
    figures = round_figures(session, live, question)
    top = figures.top_misconception
    return {
        "live": live,
        "question": question,
        "figures": figures,
        "top": top,
        "top_demo": top.demo if top and question and top.demo else None,
        "join_url": _join_url(request),
        "prompt": render_markdown(question.prompt_markdown) if question else None,
    }


@router.get("/instructor/rounds", include_in_schema=False)
def rounds_page(
    request: Request, session: ReadSession, bank: BankDep, instructor: InstructorDep
) -> Response:
    """Offer to open a round on a question; list the open round and the past ones."""
    return _rounds_page(request, session, bank, instructor)


def _rounds_page(
    request: Request,
    session: Session,
    bank: QuestionBank,
    instructor: Instructor,
    status: int = 200,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "rounds/index.html",
        status,
        instructor=instructor,
        questions=bank.ordered(),
        current=find_open(session),
        past=past_rounds(session),
        error=error,
    )


@router.post("/instructor/rounds", include_in_schema=False)
def start_round(
    request: Request,
    database: DatabaseDep,
    bank: BankDep,
    instructor: InstructorDep,
    form: Annotated[OpenForm, Form()],
) -> Response:
    """Open a round on a question; refused, saying why, while another round is open."""
    question = bank.questions.get(form.number)
    try:
        if question is None:
            raise RoundRefused(f"There is no question {form.number}.")
        with database.writing() as session:
            round_id = open_round(session, question, instructor.id).id
    except RoundRefused as refused:
        with database.reading() as session:
            return _rounds_page(request, session, bank, instructor, 409, str(refused))
    return redirect(request, f"/instructor/rounds/{round_id}", f"Round {round_id} is open.")


@router.get("/instructor/rounds/{round_id}", include_in_schema=False)
def live_view(
    request: Request,
    round_id: RowId,
    session: ReadSession,
    bank: BankDep,
    instructor: InstructorDep,
) -> Response:
    """Show the presenter the round's figures as they arrive, and the answer picker."""
    return _round_page(request, session, bank, instructor, round_id, "rounds/live.html")


@router.get("/instructor/rounds/{round_id}/screen", include_in_schema=False)
def screen_view(
    request: Request,
    round_id: RowId,
    session: ReadSession,
    bank: BankDep,
    instructor: InstructorDep,
) -> Response:
    """Show the room the figures, the answers picked to show, and the demo the presenter ran."""
    return _round_page(request, session, bank, instructor, round_id, "rounds/screen.html")


def _round_page(
    request: Request,
    session: Session,
    bank: QuestionBank,
    instructor: Instructor,
    round_id: int,
    template: str,
) -> Response:
    """Render one of a round's two pages, with the join link's QR code."""
    live = get_or_404(session, LiveRound, round_id, "round")
    context = _context(request, session, bank, live)
    join = context["join_url"]
    qr = qr_svg(join, f"QR code of the join link, {join}")
    return render(request, template, instructor=instructor, qr=qr, **context)


@router.get(
    "/api/instructor/rounds/{round_id}", tags=["instructor"], responses=INSTRUCTOR_API_ERRORS
)
def figures_json(round_id: RowId, session: ReadSession, bank: BankDep) -> RoundFigures:
    """Return a round's figures: live while open, frozen once closed."""
    live = get_or_404(session, LiveRound, round_id, "round")
    return round_figures(session, live, _question(bank, live))


@router.get("/instructor/rounds/{round_id}/events", include_in_schema=False)
async def events(
    request: Request,
    round_id: RowId,
    database: DatabaseDep,
    bank: BankDep,
    view: Annotated[View, Query()] = "live",
) -> StreamingResponse:
    """Stream a round's figures as server-sent events, sent only when they change."""
    template = f"rounds/_{view}_figures.html"
    found = await run_in_threadpool(_read_mark, database, round_id)
    if found is None:
        raise HTTPException(404, detail=f"There is no round {round_id}.")

    def payload() -> str:
        with database.reading() as session:
            live = session.get_one(LiveRound, round_id)
            context = _context(request, session, bank, live)
            html = request.app.state.templates.get_template(template).render(
                request=request, **context
            )
            figures: RoundFigures = context["figures"]
            return json.dumps(
                {
                    "answered": figures.answered,
                    "closed": live.closed_at is not None,
                    "demo": {"index": live.demo_index, "runs": live.demo_runs},
                    "html": html,
                }
            )

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        started = quiet = loop.time()
        mark: object = None
        while loop.time() - started < STREAM_MAX_S and not await request.is_disconnected():
            now_mark = await run_in_threadpool(_read_mark, database, round_id)
            if now_mark is None:
                return
            if now_mark != mark:
                mark, quiet = now_mark, loop.time()
                yield f"event: figures\ndata: {await run_in_threadpool(payload)}\n\n"
            elif loop.time() - quiet >= HEARTBEAT_S:
                quiet = loop.time()
                yield ": heartbeat\n\n"
            await asyncio.sleep(POLL_S)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


def _read_mark(database: Database, round_id: int) -> object:
    with database.reading() as session:
        live = session.get(LiveRound, round_id)
        return None if live is None else change_mark(session, live)


@router.post("/instructor/rounds/{round_id}/picks", include_in_schema=False)
def pick(
    request: Request,
    round_id: RowId,
    database: DatabaseDep,
    form: Annotated[PickForm, Form()],
) -> Response:
    """Show one anonymised answer on the screen, or hide it again."""
    return _change(
        request,
        database,
        round_id,
        lambda session, live: set_pick(session, live, form.attempt, form.shown == "yes"),
        "The answer is shown on the screen." if form.shown == "yes" else "The answer is hidden.",
    )


@router.post("/instructor/rounds/{round_id}/demo", include_in_schema=False)
def run_demo(
    request: Request,
    round_id: RowId,
    database: DatabaseDep,
    bank: BankDep,
    form: Annotated[DemoForm, Form()],
) -> Response:
    """Run a demo of the round's question on the screen view."""

    def change(session: Session, live: LiveRound) -> None:
        question = _question(bank, live)
        if question is None:
            raise RoundRefused("This round's question is no longer in the quiz.")
        record_demo_run(session, live, question, form.k)

    return _change(request, database, round_id, change, f"Demo {form.k} runs on the screen.")


@router.post("/instructor/rounds/{round_id}/close", include_in_schema=False)
def close(request: Request, round_id: RowId, database: DatabaseDep, bank: BankDep) -> Response:
    """Close the round, freezing its figures; closing it again is refused."""
    return _change(
        request,
        database,
        round_id,
        lambda session, live: close_round(session, live, _question(bank, live)),
        f"Round {round_id} is closed; its figures are frozen.",
    )


def _change(
    request: Request,
    database: Database,
    round_id: int,
    apply: Callable[[Session, LiveRound], object],
    done: str,
) -> Response:
    """Apply a change to a round and go back to its live view; a refusal answers 409."""
    try:
        with database.writing() as session:
            apply(session, get_or_404(session, LiveRound, round_id, "round"))
    except RoundRefused as refused:
        raise HTTPException(409, detail=str(refused)) from None
    return redirect(request, f"/instructor/rounds/{round_id}", done)


@router.get("/instructor/rounds/{round_id}/export.{fmt}", include_in_schema=False)
def export(
    round_id: RowId, fmt: Literal["csv", "json"], session: ReadSession, bank: BankDep
) -> Response:
    """Download a round's figures and anonymised answers as CSV or JSON."""
    live = get_or_404(session, LiveRound, round_id, "round")
    figures = round_figures(session, live, _question(bank, live))
    name = export_filename(f"round-{round_id}", fmt)
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "json":
        return JSONResponse(export_document(live, figures), headers=headers)
    body = "".join(csv_chunks(EXPORT_HEADERS, export_rows(live, figures)))
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@public.get("/round", include_in_schema=False)
def join(request: Request, session: ReadSession, bank: BankDep, learner: LearnerDep) -> Response:
    """Send a learner to the open round's question, or say that no round is open."""
    live = find_open(session)
    question = _question(bank, live) if live is not None else None
    if question is None:
        return render(request, "rounds/join.html", 404, learner=learner)
    # Not cached: the round open now is not the one open in a minute.
    headers = {"Cache-Control": "no-store"}
    return RedirectResponse(f"/questions/{question.number}", status_code=303, headers=headers)

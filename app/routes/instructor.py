"""Instructor dashboard: the class at a glance, per-question analysis and learner pages."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.analytics import SORT_NAME, analyse, matrix_rows, optional_points
from app.attempts import progress_by_question
from app.dashboard import (
    BadSort,
    OverviewOut,
    attempt_groups,
    headings,
    matrix_lines,
    pager_links,
    parse_sort,
    question_row,
    rounded,
    stats_out,
)
from app.identity import reissue
from app.models import Attempt, Learner
from app.review_queue import queue_size
from app.rounds import past_rounds
from app.web.auth import InstructorDep, require_instructor
from app.web.csrf import require_csrf
from app.web.deps import BankDep, DatabaseDep, PoolDep, QuestionDep, ReadSession, RowId
from app.web.errors import INSTRUCTOR_API_ERRORS
from app.web.pages import render

router = APIRouter(
    dependencies=[Depends(require_instructor), Depends(require_csrf)],
    responses=INSTRUCTOR_API_ERRORS,
)
PAGE_SIZE = 50
TOP = 2  # missed key points and misconceptions shown per question on the overview
SortParam = Annotated[str, Query(max_length=20, description="name, total or q1, q2, ...")]
OrderParam = Annotated[str | None, Query(max_length=20, description="asc or desc")]


@router.get("/instructor/", include_in_schema=False)
def dashboard(
    request: Request,
    instructor: InstructorDep,
    bank: BankDep,
    session: ReadSession,
    pool: PoolDep,
    sort: SortParam = SORT_NAME,
    order: OrderParam = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Show the class: headline figures, the sortable score matrix and item analysis."""
    try:
        chosen = parse_sort(bank, sort, order)
    except BadSort as bad:
        raise HTTPException(400, detail=str(bad)) from None
    ids = bank.ids()
    analysis = analyse(session, ids, top=TOP, optional=optional_points(bank.ordered()))
    overall, figures = analysis.overall, analysis.questions
    pages = max(1, math.ceil(overall.learners / PAGE_SIZE))
    page = min(page, pages)
    offset = (page - 1) * PAGE_SIZE
    rows = matrix_rows(session, ids, chosen.column, chosen.descending, offset, PAGE_SIZE)
    state = pool.state
    return render(
        request,
        "instructor/dashboard.html",
        instructor=instructor,
        overall=overall,
        possible=bank.possible_points,
        questions=[question_row(q, figures[str(q.id)]) for q in bank.ordered()],
        headings=headings(bank, chosen),
        lines=matrix_lines(rows, ids),
        page=page,
        pages=pages,
        first=offset + 1,
        pager=pager_links(chosen, page, pages),
        waiting=queue_size(session),
        demo_notice=state.get("notice"),
        demo_load=demo_load(state),
        rounds=past_rounds(session, limit=5),
    )


def demo_load(state: dict[str, Any]) -> dict[str, str]:
    """Say how loaded the demo workers are: workers, runs waiting, recent waits."""
    wait = state.get("wait") or {}
    p50, p95 = wait.get("p50_ms"), wait.get("p95_ms")
    waits = "no run waited yet" if p50 is None else f"waits {p50:,.0f} ms median, {p95:,.0f} ms p95"
    busy = f"{state.get('busy', 0)} busy, {state.get('waiting', 0)} runs waiting"
    return {"workers": f"{state.get('workers', 0)}", "note": f"{busy}; {waits}"}


@router.get("/instructor/questions/{n}", include_in_schema=False)
def question_detail(
    request: Request,
    instructor: InstructorDep,
    question: QuestionDep,
    bank: BankDep,
    session: ReadSession,
) -> Response:
    """Show one question's analysis: every key point and misconception with its counts."""
    figures = analyse(session, bank.ids(), optional=optional_points(bank.ordered())).questions
    row = question_row(question, figures[str(question.id)], large=True, complete=True)
    return render(request, "instructor/question.html", instructor=instructor, row=row)


@router.get("/instructor/learners/{learner_id}", include_in_schema=False)
def learner_detail(
    request: Request,
    instructor: InstructorDep,
    bank: BankDep,
    session: ReadSession,
    learner_id: RowId,
) -> Response:
    """Show every attempt of one learner: answer, key points, auto and counted score."""
    learner = session.get(Learner, learner_id)
    if learner is None:
        raise HTTPException(
            404, detail=f"There is no learner {learner_id}. Pick one from the dashboard."
        )
    attempts = session.scalars(
        select(Attempt).where(Attempt.learner_id == learner_id).order_by(Attempt.id.desc())
    ).all()
    progress = progress_by_question(session, learner_id)
    groups = attempt_groups(bank, list(attempts), progress)
    known = [g.progress for g in groups if g.in_quiz and g.progress]
    return render(
        request,
        "instructor/learner.html",
        instructor=instructor,
        learner=learner,
        groups=groups,
        answered=len(known),
        questions=len(bank.questions),
        total=sum(p.best_points for p in known),
        possible=bank.possible_points,
    )


@router.post("/instructor/learners/{learner_id}/code", include_in_schema=False)
def new_learner_code(
    request: Request, instructor: InstructorDep, database: DatabaseDep, learner_id: RowId
) -> Response:
    """End every session of a learner and give them a new code, shown here once.

    For a learner who lost their code, or whose code or cookie someone else may hold: the
    old code stops working, and every browser signed in as them is signed out.
    """
    issued = reissue(database, learner_id)
    if issued is None or issued.code is None:
        raise HTTPException(404, detail=f"There is no learner {learner_id}.")
    name, code = issued.name, issued.code
    link = str(request.url_for("continue_form").include_query_params(name=name, code=code))
    response = render(
        request,
        "instructor/learner_code.html",
        instructor=instructor,
        learner_id=learner_id,
        name=name,
        code=code,
        link=link,
    )
    response.headers["Referrer-Policy"] = "no-referrer"  # the page's link carries the code
    return response


@router.get("/api/instructor/overview", tags=["instructor"])
def overview_api(bank: BankDep, session: ReadSession) -> OverviewOut:
    """Return the dashboard's figures: learners, attempts, mean score and per-question stats."""
    ids = bank.ids()
    analysis = analyse(session, ids, optional=optional_points(bank.ordered()))
    overall, figures = analysis.overall, analysis.questions
    questions = [stats_out(q, figures[str(q.id)]) for q in bank.ordered()]
    return OverviewOut(
        learners=overall.learners,
        active_learners=overall.active_learners,
        attempts=overall.attempts,
        mean_score=rounded(overall.mean_score),
        mean_total=rounded(overall.mean_total),
        possible_total=bank.possible_points,
        questions=questions,
    )

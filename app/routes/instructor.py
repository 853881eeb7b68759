"""Instructor dashboard: the class at a glance, per-question analysis and learner pages."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.analytics import (
    SORT_NAME,
    SORT_TOTAL,
    Cell,
    Count,
    MatrixRow,
    QuestionFigures,
    analyse,
    matrix_rows,
    optional_points,
)
from app.attempts import Progress, progress_by_question
from app.charts import histogram_svg
from app.models import Attempt, Learner
from app.questions import QuestionBank
from app.review_queue import queue_size
from app.schema import Question
from app.web.auth import InstructorDep, require_instructor
from app.web.csrf import require_csrf
from app.web.deps import BankDep, QuestionDep, ReadSession
from app.web.errors import INSTRUCTOR_API_ERRORS
from app.web.pages import render

router = APIRouter(
    dependencies=[Depends(require_instructor), Depends(require_csrf)],
    responses=INSTRUCTOR_API_ERRORS,
)
PAGE_SIZE = 50
TOP = 2  # missed key points and misconceptions shown per question on the overview
HEAT_LEVELS = 5
QUESTION_KEY = re.compile(r"[qQ]([0-9]{1,4})")
MAX_ID = 2**63 - 1  # larger ids cannot be stored, so they cannot exist
SortParam = Annotated[str, Query(max_length=20, description="name, total or q1, q2, ...")]
OrderParam = Annotated[str | None, Query(max_length=20, description="asc or desc")]


@dataclass(frozen=True, slots=True)
class Sort:
    """How the matrix is sorted: the key as in the URL, the column it names, the order."""

    key: str
    column: str
    descending: bool


@dataclass(frozen=True, slots=True)
class Heading:
    """A column heading of the matrix: a link that sorts by it."""

    label: str
    title: str
    href: str
    sorted: str | None


@dataclass(frozen=True, slots=True)
class Line:
    """One learner's row of the matrix, with a heat level (0-4) beside each result."""

    learner_id: int
    name: str
    total: float | None
    cells: list[tuple[Cell, int] | None]


class CountOut(BaseModel):
    """A missed key point or a detected misconception, with how often it occurred."""

    id: str
    text: str
    count: int
    rate: float | None = Field(description="Share of the question's attempts; null if none.")


@dataclass(frozen=True, slots=True)
class QuestionRow:
    """A question with its item analysis, chart, missed points and misconceptions."""

    question: Question
    figures: QuestionFigures
    chart: Markup
    missed: list[CountOut]
    misconceptions: list[CountOut]


def parse_sort(bank: QuestionBank, sort: str, order: str | None) -> Sort:
    """Read the sort key and order, or answer 400 saying which values work."""
    found = QUESTION_KEY.fullmatch(sort)
    if sort in (SORT_NAME, SORT_TOTAL):
        column = sort
    elif found and int(found[1]) in bank.questions:
        column = str(bank.questions[int(found[1])].id)
    else:
        numbers = sorted(bank.questions)
        example = f"q{numbers[0]} to q{numbers[-1]}" if numbers else "a question"
        raise HTTPException(400, detail=f"Cannot sort by “{sort}”: use name, total or {example}.")
    if order not in (None, "asc", "desc"):
        raise HTTPException(400, detail="The order must be asc or desc.")
    descending = order == "desc" if order else sort != SORT_NAME
    return Sort(sort.lower(), column, descending)


def heat_level(score: float) -> int:
    """Return the heat-map shade of a score: 0 below 20% up to 4 from 80%."""
    return max(0, min(HEAT_LEVELS - 1, int(score * HEAT_LEVELS)))


def query_string(sort: Sort, **changes: object) -> str:
    """Return the query string of the matrix with some parameters changed."""
    params = {"sort": sort.key, "order": "desc" if sort.descending else "asc", **changes}
    return "?" + urlencode(params)


def pager_links(sort: Sort, page: int, pages: int) -> dict[str, str]:
    """Return the links to the first, previous, next and last pages, keeping the sort."""
    targets = {"first": 1, "previous": page - 1, "next": page + 1, "last": pages}
    return {name: query_string(sort, page=number) for name, number in targets.items()}


def headings(bank: QuestionBank, sort: Sort) -> list[Heading]:
    """Return the sortable headings: learner, each question, total."""
    columns = [("name", "Learner", "Sort by name")]
    columns += [(f"q{q.number}", f"Q{q.number}", q.title) for q in bank.ordered()]
    columns.append(("total", "Total", "Sort by total points"))
    found = []
    for key, label, title in columns:
        current = key == sort.key
        descending = not sort.descending if current else key != SORT_NAME
        href = "?" + urlencode({"sort": key, "order": "desc" if descending else "asc"})
        state = ("descending" if sort.descending else "ascending") if current else None
        found.append(Heading(label, title, href, state))
    return found


def question_row(
    question: Question, item: QuestionFigures, large: bool = False, complete: bool = False
) -> QuestionRow:
    """Pair a question with its figures, its chart and what learners missed."""
    chart = histogram_svg(
        item.histogram,
        f"chart-q{question.number}",
        f"Best scores on question {question.number}",
        large=large,
    )
    return QuestionRow(question, item, chart, *shown_counts(question, item, complete))


def shown_counts(
    question: Question, item: QuestionFigures, complete: bool = False
) -> tuple[list[CountOut], list[CountOut]]:
    """Name the missed key points and misconceptions, most frequent first.

    ``complete`` also lists those of the rubric that never occurred.
    """
    points = {p.id: p.text for p in question.rubric.key_points}
    mistakes = {m.id: m.feedback for m in question.rubric.misconceptions}

    def listing(counts: list[Count], texts: dict[str, str]) -> list[CountOut]:
        found = {c.id: c.count for c in counts}
        ids = [*found, *(i for i in texts if i not in found)] if complete else list(found)
        return [
            CountOut(
                id=i,
                text=texts.get(i, f"{i} (no longer in the rubric)"),
                count=found.get(i, 0),
                rate=found.get(i, 0) / item.attempts if item.attempts else None,
            )
            for i in ids
        ]

    return listing(item.missed, points), listing(item.misconceptions, mistakes)


def matrix_lines(rows: list[MatrixRow], question_ids: list[str]) -> list[Line]:
    """Lay each learner's results out in question order, with their heat levels."""
    return [
        Line(
            row.learner_id,
            row.name,
            row.total,
            [
                (cell, heat_level(cell.score)) if (cell := row.cells.get(qid)) else None
                for qid in question_ids
            ],
        )
        for row in rows
    ]


@router.get("/instructor/", include_in_schema=False)
def dashboard(
    request: Request,
    instructor: InstructorDep,
    bank: BankDep,
    session: ReadSession,
    sort: SortParam = SORT_NAME,
    order: OrderParam = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Show the class: headline figures, the sortable score matrix and item analysis."""
    chosen = parse_sort(bank, sort, order)
    numbers = {str(q.id): q.number for q in bank.ordered()}
    analysis = analyse(session, numbers, top=TOP, optional=optional_points(bank.ordered()))
    overall, figures = analysis.overall, analysis.questions
    pages = max(1, math.ceil(overall.learners / PAGE_SIZE))
    page = min(page, pages)
    offset = (page - 1) * PAGE_SIZE
    rows = matrix_rows(session, list(numbers), chosen.column, chosen.descending, offset, PAGE_SIZE)
    return render(
        request,
        "instructor/dashboard.html",
        instructor=instructor,
        overall=overall,
        possible=sum(q.points for q in bank.ordered()),
        questions=[question_row(q, figures[str(q.id)]) for q in bank.ordered()],
        headings=headings(bank, chosen),
        lines=matrix_lines(rows, list(numbers)),
        page=page,
        pages=pages,
        first=offset + 1,
        pager=pager_links(chosen, page, pages),
        waiting=queue_size(session),
    )


@router.get("/instructor/questions/{n}", include_in_schema=False)
def question_detail(
    request: Request,
    instructor: InstructorDep,
    question: QuestionDep,
    bank: BankDep,
    session: ReadSession,
) -> Response:
    """Show one question's analysis: every key point and misconception with its counts."""
    numbers = {str(q.id): q.number for q in bank.ordered()}
    figures = analyse(session, numbers, optional=optional_points(bank.ordered())).questions
    row = question_row(question, figures[str(question.id)], large=True, complete=True)
    return render(request, "instructor/question.html", instructor=instructor, row=row)


@dataclass(frozen=True, slots=True)
class AttemptView:
    """An attempt with its key points (text, met) as graded, and whether its score changed."""

    attempt: Attempt
    points: list[tuple[str, bool]]
    overridden: bool


@dataclass(frozen=True, slots=True)
class AttemptGroup:
    """A learner's attempts at one question, newest first, with the best that counts."""

    number: int
    title: str
    in_quiz: bool
    progress: Progress | None
    attempts: list[AttemptView]


def breakdown_points(breakdown: object) -> list[tuple[str, bool]]:
    """Read the key points out of a stored grading result, tolerating older shapes."""
    items = breakdown.get("key_points") if isinstance(breakdown, dict) else None
    return [
        (str(item.get("text") or item.get("id") or "?"), bool(item.get("met")))
        for item in items or []
        if isinstance(item, dict)
    ]


def attempt_groups(
    bank: QuestionBank, attempts: list[Attempt], progress: dict[str, Progress]
) -> list[AttemptGroup]:
    """Group a learner's attempts by question, in quiz order; removed questions go last."""
    by_question: dict[str, list[AttemptView]] = {}
    numbers: dict[str, int] = {}
    for attempt in attempts:
        overridden = abs(attempt.final_score - attempt.score) > 1e-9
        view = AttemptView(attempt, breakdown_points(attempt.breakdown), overridden)
        by_question.setdefault(attempt.question_id, []).append(view)
        numbers.setdefault(attempt.question_id, attempt.question_number)
    groups = []
    for question in bank.ordered():
        qid = str(question.id)
        views = by_question.pop(qid, [])
        groups.append(AttemptGroup(question.number, question.title, True, progress.get(qid), views))
    for qid, views in by_question.items():
        title = "A question no longer in the quiz"
        groups.append(AttemptGroup(numbers[qid], title, False, progress.get(qid), views))
    return groups


@router.get("/instructor/learners/{learner_id}", include_in_schema=False)
def learner_detail(
    request: Request,
    instructor: InstructorDep,
    bank: BankDep,
    session: ReadSession,
    learner_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Response:
    """Show every attempt of one learner: answer, key points, auto and counted score."""
    learner = session.get(Learner, learner_id)
    if learner is None:
        raise HTTPException(
            404, detail=f"There is no learner {learner_id}. Pick one from the dashboard."
        )
    attempts = session.scalars(
        select(Attempt)
        .where(Attempt.learner_id == learner_id)
        .order_by(Attempt.question_number, Attempt.id.desc())
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
        possible=sum(q.points for q in bank.ordered()),
    )


class QuestionStatsOut(BaseModel):
    """Item analysis of one question, over learners' best counted scores."""

    number: int
    id: str
    title: str
    points: float
    attempts: int
    learners: int
    mean_score: float | None
    median_score: float | None
    mean_points: float | None
    facility: float | None
    discrimination: float | None
    histogram: list[int]
    missed_points: list[CountOut]
    misconceptions: list[CountOut]


class OverviewOut(BaseModel):
    """The class at a glance, as on the dashboard."""

    learners: int
    active_learners: int
    attempts: int
    mean_score: float | None
    mean_total: float | None
    possible_total: float
    questions: list[QuestionStatsOut]


@router.get("/api/instructor/overview", tags=["instructor"])
def overview_api(bank: BankDep, session: ReadSession) -> OverviewOut:
    """Return the dashboard's figures: learners, attempts, mean score and per-question stats."""
    numbers = {str(q.id): q.number for q in bank.ordered()}
    analysis = analyse(session, numbers, optional=optional_points(bank.ordered()))
    overall, figures = analysis.overall, analysis.questions
    questions = [stats_out(q, figures[str(q.id)]) for q in bank.ordered()]
    return OverviewOut(
        learners=overall.learners,
        active_learners=overall.active_learners,
        attempts=overall.attempts,
        mean_score=_round(overall.mean_score),
        mean_total=_round(overall.mean_total),
        possible_total=sum(q.points for q in bank.ordered()),
        questions=questions,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def stats_out(question: Question, item: QuestionFigures) -> QuestionStatsOut:
    """Return a question's figures for the API, every missed point and misconception named."""
    missed, found = shown_counts(question, item)
    return QuestionStatsOut(
        number=question.number,
        id=str(question.id),
        title=question.title,
        points=question.points,
        attempts=item.attempts,
        learners=item.learners,
        mean_score=_round(item.mean_score),
        median_score=_round(item.median_score),
        mean_points=_round(item.mean_points),
        facility=_round(item.facility),
        discrimination=_round(item.discrimination),
        histogram=item.histogram,
        missed_points=missed,
        misconceptions=found,
    )

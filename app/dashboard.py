"""What the instructor dashboard shows: the sortable score matrix, item analysis, learner pages.

The route module (app.routes.instructor) reads the request and renders; these helpers turn
the figures of app.analytics and a learner's attempts into what the templates display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup
from pydantic import BaseModel, Field

from app.analytics import SORT_NAME, SORT_TOTAL, Cell, Count, MatrixRow, QuestionFigures
from app.attempts import Progress
from app.charts import histogram_svg
from app.evidence import stored_result
from app.models import Attempt
from app.questions import QuestionBank
from app.schema import Question

HEAT_LEVELS = 5
QUESTION_KEY = re.compile(r"[qQ]([0-9]{1,4})")


class BadSort(ValueError):
    """Raised with a message saying which sort keys and orders work."""


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
    """Read the sort key and order, or raise BadSort saying which values work."""
    found = QUESTION_KEY.fullmatch(sort)
    if sort in (SORT_NAME, SORT_TOTAL):
        column = sort
    elif found and int(found[1]) in bank.questions:
        column = str(bank.questions[int(found[1])].id)
    else:
        numbers = sorted(bank.questions)
        example = f"q{numbers[0]} to q{numbers[-1]}" if numbers else "a question"
        raise BadSort(f"Cannot sort by “{sort}”: use name, total or {example}.")
    if order not in (None, "asc", "desc"):
        raise BadSort("The order must be asc or desc.")
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


def graded_points(attempt: Attempt) -> list[tuple[str, bool]]:
    """Return an attempt's key points as graded: text and whether met."""
    return [(p.text, p.met) for p in stored_result(attempt).key_points]


def attempt_groups(
    bank: QuestionBank, attempts: list[Attempt], progress: dict[str, Progress]
) -> list[AttemptGroup]:
    """Group a learner's attempts by question, in quiz order; removed questions go last."""
    by_question: dict[str, list[AttemptView]] = {}
    numbers: dict[str, int] = {}
    for attempt in attempts:
        overridden = abs(attempt.final_score - attempt.score) > 1e-9
        view = AttemptView(attempt, graded_points(attempt), overridden)
        by_question.setdefault(attempt.question_id, []).append(view)
        numbers.setdefault(attempt.question_id, attempt.question_number)
    groups = []
    for question in bank.ordered():
        qid = str(question.id)
        views = by_question.pop(qid, [])
        groups.append(AttemptGroup(question.number, question.title, True, progress.get(qid), views))
    for qid, views in sorted(by_question.items(), key=lambda item: numbers[item[0]]):
        title = "A question no longer in the quiz"
        groups.append(AttemptGroup(numbers[qid], title, False, progress.get(qid), views))
    return groups


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


def rounded(value: float | None) -> float | None:
    """Round a figure for the API to four places; none stays none."""
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
        mean_score=rounded(item.mean_score),
        median_score=rounded(item.median_score),
        mean_points=rounded(item.mean_points),
        facility=rounded(item.facility),
        discrimination=rounded(item.discrimination),
        histogram=item.histogram,
        missed_points=missed,
        misconceptions=found,
    )
